"""The format registry: built-in formats, formats registered in code, and plugins found by entry point.

Third-party packages register formats under the entry-point group ``slmswap.formats``::

    [project.entry-points."slmswap.formats"]
    jsonlist = "my_package:JsonListFormat"

Entry points are listed when the registry is first used and imported only when their format is asked for. A
plugin that fails to import produces a warning naming it (and :func:`get_format` of that name raises a
:class:`~slmswap.errors.FormatError`); it never breaks ``import slmswap``. Formats that do not come with slmswap
are wrapped in a :class:`~slmswap.formats.guard.GuardedFormat`, which reports a plugin raising on use the same
way.

A name claimed twice is settled as fsspec settles its registry: a plugin claiming a name that is already taken
(built in, or by an earlier plugin) is skipped with a warning naming both sources, and discovery carries on;
registering in code over a taken name needs ``replace=True``.

What a format can do is read off its class (:attr:`~slmswap.formats.ChatFormat.writes_tool_calls`,
:attr:`~slmswap.formats.ChatFormat.needs_tokenizer`), so hints such as "tool calls need ..." list every
registered format that fits, plugins included; options a format's constructor does not take, or a tokenizer
missing where the class says it needs one, are refused before it is built, saying what to pass.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slmswap.errors import FormatError
from slmswap.formats.base import ChatFormat
from slmswap.formats.guard import GuardedFormat

__all__ = [
    "ENTRY_POINT_GROUP",
    "FormatFactory",
    "available_formats",
    "format_class",
    "get_format",
    "register_format",
    "resolve_format",
    "tool_call_formats",
    "tool_call_hint",
]

ENTRY_POINT_GROUP = "slmswap.formats"
"""The entry-point group plugins register formats under."""

FormatFactory = Callable[..., ChatFormat]
"""A :class:`ChatFormat` subclass, or any callable that takes the format's options and returns one."""

_BUILTIN_SOURCE = "slmswap (built-in)"


@dataclass
class _Entry:
    source: str
    target: str  # "module:attribute", imported on first use
    factory: FormatFactory | None = None


_BUILTINS: dict[str, str] = {
    "native": "slmswap.formats.native:NativeFormat",
    "hermes": "slmswap.formats.hermes:HermesFormat",
    "structured": "slmswap.formats.structured:StructuredFormat",
    "cep": "slmswap.formats.cep:CepFormat",
    "xml": "slmswap.formats.xml:XmlFormat",
}

_registry: dict[str, _Entry] = {name: _Entry(_BUILTIN_SOURCE, target) for name, target in _BUILTINS.items()}
_plugins_discovered = False


def _discover_plugins() -> None:
    global _plugins_discovered
    if _plugins_discovered:
        return
    _plugins_discovered = True
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        source = f"plugin {point.value!r}" + (f" from {point.dist.name}" if point.dist is not None else "")
        existing = _registry.get(point.name)
        if existing is not None:
            warnings.warn(
                f"format name {point.name!r} is claimed by both {existing.source} and {source}; "
                f"keeping {existing.source}, skipping {source}",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        _registry[point.name] = _Entry(source, point.value)


def _load(name: str, entry: _Entry) -> FormatFactory:
    if entry.factory is None:
        module_name, _, attribute = entry.target.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (Exception, SystemExit) as exc:  # a plugin may fail in any way while importing, even sys.exit()
            message = f"format {name!r} ({entry.source}) failed to load: {type(exc).__name__}: {exc}"
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            raise FormatError(message) from exc
        entry.factory = factory
    return entry.factory


def register_format(name: str, factory: FormatFactory, *, source: str | None = None, replace: bool = False) -> None:
    """Make ``factory`` available as ``get_format(name)``.

    Args:
        name: The format's registry name.
        factory: A :class:`ChatFormat` subclass or a callable returning one.
        source: Who registers it, for error messages (defaults to the factory's module).
        replace: Allow replacing an existing registration; otherwise a clash is a ``FormatError``.
    """
    _discover_plugins()
    source = source or f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', factory)!s}"
    existing = _registry.get(name)
    if existing is not None and not replace:
        raise FormatError(
            f"format name {name!r} is claimed by both {existing.source} and {source}; pass replace=True to override"
        )
    _registry[name] = _Entry(source, "", factory)


def available_formats() -> dict[str, str]:
    """Every registered format name and where it comes from (built-in, plugin distribution, or code)."""
    _discover_plugins()
    return {name: entry.source for name, entry in sorted(_registry.items())}


def get_format(name: str, **options: Any) -> ChatFormat:
    """A new instance of the format registered as ``name``, built with ``options``.

    ``get_format("native", tokenizer=tok)``, ``get_format("cep", variant="compact")``,
    ``get_format("structured", schema={...})``.
    """
    _discover_plugins()
    entry = _registry.get(name)
    if entry is None:
        raise FormatError(f"unknown format {name!r}; available: {', '.join(sorted(_registry))}")
    factory = _load(name, entry)
    _check_options(name, factory, options)
    try:
        instance = factory(**options)
    except FormatError:
        raise
    except (Exception, SystemExit) as exc:  # a plugin may fail in any way while building its format
        message = f"format {name!r} ({entry.source}) failed to build: {type(exc).__name__}: {exc}"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        raise FormatError(message) from exc
    if not isinstance(instance, ChatFormat):
        raise FormatError(
            f"format {name!r} ({entry.source}) did not produce a ChatFormat, got {type(instance).__name__}"
        )
    return instance if entry.source == _BUILTIN_SOURCE else GuardedFormat(instance, entry.source)


def _check_options(name: str, factory: FormatFactory, options: dict[str, Any]) -> None:
    """Raise :class:`FormatError` saying what to pass when ``options`` cannot build ``name``: a tokenizer its
    class says it needs (:attr:`~slmswap.formats.ChatFormat.needs_tokenizer`) or says it does not take, or
    options its constructor does not take or requires."""
    cls = factory if isinstance(factory, type) and issubclass(factory, ChatFormat) else None
    if cls is not None and cls.needs_tokenizer and "tokenizer" not in options:
        raise FormatError(
            f"format {name!r} needs the model's tokenizer (it reads the chat template): "
            f"get_format({name!r}, tokenizer=...), or resolve_format({name!r}, tokenizer=...)"
        )
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a callable with no signature to read: calling it is the only check
        return
    if _binds(signature, options):
        return
    parameters = signature.parameters.values()
    named = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    open_ended = any(p.kind is p.VAR_KEYWORD for p in parameters)
    unknown = [] if open_ended else sorted(set(options) - {p.name for p in named})
    if "tokenizer" in unknown and cls is not None and not cls.needs_tokenizer:
        needing = [repr(n) for n in available_formats() if (c := _quiet_class(n)) is not None and c.needs_tokenizer]
        raise FormatError(
            f"format {name!r} takes no tokenizer (formats that read the chat template do: "
            f"{', '.join(needing) or 'none is registered'}); resolve_format({name!r}, tokenizer=...) hands one "
            "only to the formats that need it"
        )
    if unknown:
        takes = f"its options: {', '.join(p.name for p in named)}" if named else "it takes no options"
        raise FormatError(f"format {name!r} does not accept the options {', '.join(map(repr, unknown))} ({takes})")
    missing = [p.name for p in named if p.default is p.empty and p.name not in options]
    if not missing:  # positional-only parameters: the call itself says what is wrong
        return
    wanted = ", ".join(f"{option}=..." for option in missing)
    raise FormatError(
        f"format {name!r} needs the option(s) {', '.join(map(repr, missing))}: get_format({name!r}, {wanted})"
    )


def _binds(signature: inspect.Signature, options: dict[str, Any]) -> bool:
    try:
        signature.bind(**options)
    except TypeError:
        return False
    return True


def _quiet_class(name: str) -> type[ChatFormat] | None:
    """:func:`format_class`, with a broken plugin's warning held back (it is reported when it is used)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return format_class(name)


def format_class(name: str) -> type[ChatFormat] | None:
    """The class registered as ``name`` (imported if need be), or ``None`` when its factory is not a
    :class:`ChatFormat` subclass (a plain callable) or its plugin fails to load."""
    _discover_plugins()
    entry = _registry.get(name)
    if entry is None:
        raise FormatError(f"unknown format {name!r}; available: {', '.join(sorted(_registry))}")
    try:
        factory = _load(name, entry)
    except FormatError:
        return None
    return factory if isinstance(factory, type) and issubclass(factory, ChatFormat) else None


def tool_call_formats(*, as_text: bool = False) -> list[str]:
    """The registered formats whose class says it writes tool calls; ``as_text``: only those that write tools
    and calls as text of their own (not through the chat template's ``tools=`` support)."""
    names = []
    for name in available_formats():
        cls = _quiet_class(name)
        if cls is not None and cls.writes_tool_calls and not (as_text and cls.target_from_template):
            names.append(name)
    return names


def tool_call_hint(*, as_text: bool = False) -> str:
    """The formats of :func:`tool_call_formats` in words: ``"'cep', 'hermes', 'native' or 'xml'"``."""
    quoted = [repr(name) for name in tool_call_formats(as_text=as_text)]
    if len(quoted) < 2:
        return "".join(quoted) or "a format that writes tool calls"
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def resolve_format(fmt: str | ChatFormat, *, tokenizer: Any = None, **options: Any) -> ChatFormat:
    """``fmt`` itself if it is a format instance, else ``get_format(fmt, **options)``; ``tokenizer`` is handed
    to formats whose class says they need it (:attr:`~slmswap.formats.ChatFormat.needs_tokenizer`) and ignored
    by the others."""
    if isinstance(fmt, ChatFormat):
        return fmt
    if tokenizer is not None:
        cls = format_class(fmt) if fmt in available_formats() else None
        if cls is not None and cls.needs_tokenizer:
            options["tokenizer"] = tokenizer
    return get_format(fmt, **options)
