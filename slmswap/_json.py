"""Strict JSON reading for data: what Python's ``json`` lets through but JSON is not, refused with a reason.

``NaN`` and ``Infinity`` (no JSON form: they would be written into training targets as non-JSON), a key given
twice in one object (silently last-wins otherwise), and lone surrogates (``"\\ud800"``: valid JSON escapes that
no UTF-8 text can hold; they crash the tokenizer and the record writer later). The typed core
(:mod:`slmswap.schema`) refuses the same strings with :func:`check_text` and :func:`check_json_value`, and text a
model generated is made valid with :func:`valid_text`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = [
    "LoneSurrogateError",
    "StrictJsonError",
    "check_json_value",
    "check_text",
    "json_path",
    "strict_loads",
    "valid_text",
]


class StrictJsonError(ValueError):
    """Text that ``json.loads`` accepts but that is not strict JSON.

    Attributes:
        parts (tuple[str | int, ...]): Where inside the value the problem is (keys and indexes; empty: the value
            itself, or not known); :attr:`path` writes it as a field path.
    """

    def __init__(self, message: str, parts: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.parts = parts

    @property
    def path(self) -> str:
        """:attr:`parts` as a field path, e.g. ``messages[0].content`` (``""`` for the value itself)."""
        return json_path(self.parts)


class LoneSurrogateError(StrictJsonError):
    """A string that is not Unicode text: it holds a lone surrogate (``"\\ud800"``), which no UTF-8 text can hold."""


def json_path(parts: Iterable[str | int]) -> str:
    """Keys and indexes as a field path: ``("messages", 0, "content")`` -> ``messages[0].content``."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not JSON (NaN and Infinity have no JSON form)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJsonError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def check_text(value: str, what: str = "string", parts: tuple[str | int, ...] = ()) -> None:
    """Raise :class:`LoneSurrogateError` when ``value`` is not valid Unicode text (it holds a lone surrogate);
    ``what`` and ``parts`` say which string, in the message and in :attr:`~StrictJsonError.parts`."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise LoneSurrogateError(f"the {what} {value[:40]!r} holds a lone surrogate, not text", parts) from None


def valid_text(value: str) -> str:
    """``value`` made valid Unicode text: a surrogate pair becomes the character it encodes, and a lone
    surrogate the replacement character U+FFFD (``value`` itself when it is valid)."""
    try:
        check_text(value)
    except LoneSurrogateError:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def check_json_value(value: Any) -> None:
    """Raise :class:`StrictJsonError` when ``value`` holds a non-finite number, or :class:`LoneSurrogateError`
    when it holds a string (a value or a key) that is not valid Unicode text; the error's ``parts`` say where."""
    try:  # the common case, in C: no NaN or infinity (allow_nan), and text that UTF-8 can hold throughout
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        pass  # walk it to say what and where
    else:
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, parts = stack.pop()
        if isinstance(item, str):
            check_text(item, parts=parts)
        elif isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            raise StrictJsonError(f"{item} is not JSON (NaN and Infinity have no JSON form)", parts)
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str):
                    check_text(key, "key", parts)
                stack.append((child, (*parts, key)))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, (*parts, index)) for index, child in enumerate(item))


def strict_loads(text: str) -> Any:
    """``json.loads(text)``, refusing NaN/Infinity, repeated keys and lone surrogates."""
    value = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    check_json_value(value)
    return value
