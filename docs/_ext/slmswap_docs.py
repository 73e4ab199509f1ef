"""A local Sphinx extension: how slmswap's public API is laid out in the reference, and kept complete.

* **The facade first.** Every name in ``slmswap.__all__`` is documented on the ``slmswap`` page, the stable
  public API. The build checks that ``api/index.rst`` lists exactly ``slmswap`` and every public module of the
  package (the advanced subpackages and their modules), no more, no fewer.
* **One home per name.** Every public module (no dotted part starting with ``_``) listed in ``api/index.rst``
  gets a page. A name exported by several modules (``slmswap.formats.get_format`` is
  ``slmswap.formats.registry.get_format``) is documented once: on the ``slmswap`` page when the facade exports
  it, else in the deepest public module whose ``__all__`` lists it; names defined in a private
  module (``slmswap.data._result.LoadResult``) live in the public package that exports them
  (``slmswap.data.LoadResult``). Other modules' summary tables link to the home.
* **Any spelling resolves.** A reference to any exported spelling (``slmswap.load_openai``,
  ``slmswap.data.load_openai``), or to the defining private module, resolves to the home, so guides and
  docstrings can use the names users import.
* **Nothing public goes undocumented.** The build warns (an error under ``-W``) when a public module that
  ``import slmswap`` loads is missing from ``api/index.rst``, or a name in a module's ``__all__`` has no entry.
* **pydantic models read like their constructors.** A model's signature and parameter list show its fields
  (type, default, description) instead of pydantic's generic ``BaseModel(**data)``.
* **Private bases stay private.** A class deriving from a private base of slmswap's (``slmswap.schema``'s
  models share one) lists that base's own public bases instead.
* **Type aliases link.** ``RowSource``, ``JsonObject`` and the other names in ``autodoc_type_aliases`` are shown
  by name and link to their entries (sphinx-autodoc-typehints leaves them as plain text).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

from docutils import nodes
from pydantic import BaseModel
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.ext import intersphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging, rst
from sphinx_autodoc_typehints import MyTypeAliasForwardRef, format_annotation

import slmswap

logger = logging.getLogger(__name__)

KINDS = ("classes", "exceptions", "functions", "data")

# The modules `import slmswap` loads, noted when this extension is first imported (from conf.py, before
# anything imports more): a public module that the package does not import (work in progress) is not part
# of the API yet, and is not required in the reference.
_LOADED_BY_PACKAGE = sorted(name for name in sys.modules if name.split(".")[0] == "slmswap")

_API_INDEX = Path(__file__).resolve().parent.parent / "api" / "index.rst"


def _is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _listed_modules() -> list[str]:
    """The modules api/index.rst lists (one dotted name per line of its autosummary directive)."""
    text = _API_INDEX.read_text(encoding="utf-8")
    return re.findall(r"^ {3}(slmswap(?:\.\w+)*)\s*$", text, flags=re.MULTILINE)


def _package_modules() -> list[str]:
    """Every public module of the slmswap package, found on disk (``slmswap`` itself included)."""
    found = [
        info.name
        for info in pkgutil.walk_packages(slmswap.__path__, prefix="slmswap.")
        if _is_public(info.name) and not info.name.endswith("__main__")
    ]
    return ["slmswap", *sorted(found)]


def _public_modules() -> dict[str, ModuleType]:
    names = {name for name in _LOADED_BY_PACKAGE + _listed_modules() if _is_public(name)}
    return {name: importlib.import_module(name) for name in sorted(names)}


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "exceptions" if issubclass(obj, BaseException) else "classes"
    if inspect.isroutine(obj):
        return "functions"
    return "data"


def _exported(module: ModuleType) -> list[str]:
    return list(getattr(module, "__all__", []))


def _attr_doc(modname: str, name: str) -> list[str] | None:
    doc = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", name))
    return list(doc) if doc else None


class _Api:
    """Where each public name is documented, and what each module page shows."""

    def __init__(self) -> None:
        modules = _public_modules()
        self.homes: dict[str, str] = {}  # any spelling -> documented name
        self.homes_by_object: dict[int, str] = {}  # id(class or function) -> documented name
        for modname, module in modules.items():
            for name in _exported(module):
                obj = getattr(module, name)
                exporters = [m for m, mod in modules.items() if name in _exported(mod) and getattr(mod, name) is obj]
                origin = getattr(obj, "__module__", None) if _kind(obj) != "data" else None
                if "slmswap" in exporters:
                    home_module = "slmswap"  # the facade documents its names
                elif origin in exporters:
                    home_module = origin
                else:
                    inside = [m for m in exporters if origin and origin.startswith(m + ".")]
                    home_module = max(inside or exporters, key=lambda m: m.count("."))
                home = f"{home_module}.{name}"
                self.homes[f"{modname}.{name}"] = home
                if _kind(obj) != "data":
                    self.homes_by_object[id(obj)] = home
                    self.homes[f"{obj.__module__}.{obj.__qualname__}"] = home

        # Per module page: a summary table of everything exported (by kind, linking to the homes), and the
        # names documented in full on this page.
        self.pages: dict[str, dict[str, dict[str, list[str]]]] = {}
        for modname, module in modules.items():
            summary: dict[str, list[str]] = {kind: [] for kind in KINDS}
            own: dict[str, list[str]] = {kind: [] for kind in KINDS}
            for name in _exported(module):
                kind = _kind(getattr(module, name))
                home = self.homes[f"{modname}.{name}"]
                # autosummary wants names relative to the page's module when they are inside it.
                summary[kind].append("~" + home.removeprefix(modname + "."))
                if home == f"{modname}.{name}":
                    own[kind].append(name)
            self.pages[modname] = {"summary": summary, "own": own}

        # Module-level data documented in a public package but defined (with its docstring) in a private
        # module: autodoc looks for the docstring in the public module's source only.
        self.data_docs: dict[str, list[str]] = {}
        # The facade's data is defined (with its docstring) in the module that the facade imports it from.
        defined = sorted(name for name in sys.modules if name.split(".")[0] == "slmswap")
        for modname, page in self.pages.items():
            for name in page["own"]["data"]:
                if _attr_doc(modname, name) is None:
                    for candidate in defined:
                        inside = candidate.startswith(modname + ".") or modname == "slmswap"
                        if inside and candidate != modname and (doc := _attr_doc(candidate, name)):
                            self.data_docs[f"{modname}.{name}"] = doc
                            break

    def home_of(self, target: str, modname: str | None) -> str | None:
        """Where a reference to ``target`` (written inside module ``modname``) is documented."""
        candidates = [target] + ([f"{modname}.{target}"] if modname else [])
        head = target.split(".", 1)[0]
        # A name out of its module's context (a module's first docstring line shown in a summary table
        # elsewhere): resolve it when exactly one public name is spelled that way.
        spelled = {home for home in self.homes.values() if home.rsplit(".", 1)[-1] == head}
        if len(spelled) == 1:
            candidates.append(target.replace(head, spelled.pop(), 1))
        for candidate in candidates:
            home = self.homes.get(candidate) or self.homes_by_object.get(id(_import(candidate)))
            if home:
                return home
            parts = candidate.split(".")
            for cut in range(len(parts) - 1, 1, -1):
                # A member of a public name: slmswap.LoadResult.report -> slmswap.data.LoadResult.report
                home = self.homes.get(".".join(parts[:cut]))
                if home:
                    return ".".join([home, *parts[cut:]])
        return None


def _import(dotted: str) -> object:
    """The object named ``dotted`` if it lives in slmswap, else None."""
    if not dotted.startswith("slmswap."):
        return None
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


API = _Api()


def _set_template_context(app: Sphinx, config: Config) -> None:
    config.autosummary_context = {**config.autosummary_context, "api": API.pages, "kinds": KINDS}


_PLAIN_KINDS = {"attribute", "data", "property"}
_plain_docstrings: dict[tuple[str, str], list[str]] = {}


def _keep_plain(app: Sphinx, what: str, name: str, obj: object, options: dict[str, Any], lines: list[str]) -> None:
    """Note an attribute's docstring before napoleon sees it (see _restore_plain)."""
    if what in _PLAIN_KINDS:
        _plain_docstrings[(what, name)] = list(lines)


def _restore_plain(app: Sphinx, what: str, name: str, obj: object, options: dict[str, Any], lines: list[str]) -> None:
    """Undo napoleon on attribute, data and property docstrings: they are plain reST.

    napoleon reads the first line of such a docstring as ``type: description``, so "The call syntax is broken:
    ..." would become a reference to a type named "The call syntax is broken". slmswap gives types as
    annotations, never that way.
    """
    saved = _plain_docstrings.pop((what, name), None)
    if saved is not None:
        lines[:] = saved


def _fill_data_docstring(
    app: Sphinx, what: str, name: str, obj: object, options: dict[str, Any], lines: list[str]
) -> None:
    if what == "data" and name in API.data_docs:
        lines[:] = API.data_docs[name]


def _resolve_alias(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    """Resolve a Python reference written with any exported spelling of a name to where it is documented."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    home = API.home_of(target, node.get("py:module"))
    if home is None or home == target:
        return None
    domain = env.domains.python_domain
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], home, node, contnode)


def _resolve_external(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    """Retry an unresolved third-party reference under its package-level name, through intersphinx.

    Type hints name a class by its defining module (``transformers.modeling_utils.PreTrainedModel``), while
    projects document it where users import it from (``transformers.PreTrainedModel``). Only useful when the
    intersphinx mapping is enabled (SLMSWAP_DOCS_ONLINE=1); otherwise there is nothing to look in.
    """
    target = node.get("reftarget", "")
    parts = target.split(".")
    if node.get("refdomain") != "py" or len(parts) < 2 or parts[0] == "slmswap":
        return None
    # The "obj" role matches any kind of entry: an inventory may list a type alias as data, an attribute, ...
    for spelling in dict.fromkeys([target, f"{parts[0]}.{parts[-1]}"]):
        retry = node.deepcopy()
        retry["reftarget"] = spelling
        retry["reftype"] = "obj"
        if (found := intersphinx.missing_reference(app, env, retry, contnode)) is not None:
            return found
    return None


def _check_api_coverage(app: Sphinx, env: BuildEnvironment) -> None:
    """The index lists ``slmswap`` and every public module; every name an ``__all__`` lists is documented, and
    the ``slmswap`` page documents exactly ``slmswap.__all__``."""
    domain = env.domains.python_domain
    listed, expected = _listed_modules(), _package_modules()
    for missing in sorted(set(expected) - set(listed)):
        logger.warning("public module %s is missing from docs/api/index.rst", missing, type="slmswap", subtype="api")
    for extra in sorted(set(listed) - set(expected)):
        logger.warning("docs/api/index.rst lists %s, not a public module", extra, type="slmswap", subtype="api")
    facade = {name for names in API.pages["slmswap"]["own"].values() for name in names}
    if facade != set(slmswap.__all__):
        logger.warning(
            "the slmswap page documents %s, not slmswap.__all__",
            sorted(facade ^ set(slmswap.__all__)),
            type="slmswap",
            subtype="api",
        )
    for modname, page in API.pages.items():
        if modname not in domain.modules:
            logger.warning(
                "public module %s has no page in the API reference; add it to docs/api/index.rst",
                modname,
                type="slmswap",
                subtype="api",
            )
            continue
        for names in page["own"].values():
            for name in names:
                if f"{modname}.{name}" not in domain.objects:
                    logger.warning("%s.%s is public but not documented", modname, name, type="slmswap", subtype="api")


# -- pydantic models --------------------------------------------------------------------------------------------


def _is_model(obj: object) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseModel) and obj is not BaseModel


def _model_signature(
    app: Sphinx, what: str, name: str, obj: object, options: dict[str, Any], signature: str, return_annotation: str
) -> tuple[str, str] | None:
    """The fields as keyword parameters (pydantic's own ``__signature__``), types left to the parameter list."""
    if what != "class" or not _is_model(obj):
        return None
    sig = inspect.signature(obj)  # type: ignore[arg-type]
    params = [param.replace(annotation=inspect.Parameter.empty) for param in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty)), ""


def _model_fields(app: Sphinx, what: str, name: str, obj: Any, options: dict[str, Any], lines: list[str]) -> None:
    """Replace the ``**data`` parameter of ``BaseModel.__init__`` by the fields: type, default, description."""
    if what != "class" or not _is_model(obj):
        return
    lines[:] = [line for line in lines if not line.startswith((":param data:", ":type data:"))]
    aliases = {key: MyTypeAliasForwardRef(value) for key, value in app.config.autodoc_type_aliases.items()}
    hints = get_type_hints(obj, localns=aliases)
    signature = inspect.signature(obj)
    if lines and lines[-1]:
        lines.append("")
    for field, info in obj.model_fields.items():
        lines.append(f":param {field}: {info.description or ''}".rstrip())
        kind = format_annotation(hints[field], app.config)
        if info.default_factory is not None:
            kind += f", default: ``{info.default_factory()!r}``"
        elif (default := signature.parameters[field].default) is not inspect.Parameter.empty:
            kind += f", default: ``{default!r}``"
        lines.append(f":type {field}: {kind}")


# -- type aliases -----------------------------------------------------------------------------------------------

_TYPED_ROLE = ":sphinx_autodoc_typehints_type:`"  # sphinx-autodoc-typehints' wrapper; its content is escaped


def _link_type_aliases(
    app: Sphinx, what: str, name: str, obj: object, options: dict[str, Any], lines: list[str]
) -> None:
    """Turn the plain dotted alias names in ``:type:`` / ``:rtype:`` lines into references.

    The role is ``py:obj``, which matches whatever kind of entry an alias has (data here, other kinds in
    other projects' inventories).
    """
    targets = "|".join(re.escape(target) for target in app.config.autodoc_type_aliases.values())
    if not targets:
        return
    # Not already part of a reference: not after a word character, a dot, "~" or an escaped backquote.
    pattern = re.compile(rf"(?<![\w.~])(?<!\\`)({targets})(?![\w.])")
    for i, line in enumerate(lines):
        if line.startswith((":type ", ":rtype:")):
            wrap = rst.escape if _TYPED_ROLE in line else str
            lines[i] = pattern.sub(lambda match, wrap=wrap: wrap(f":py:obj:`~{match[1]}`"), line)


def _private_base(base: type) -> bool:
    return base.__module__.split(".")[0] == "slmswap" and base.__name__.startswith("_")


def _public_bases(app: Sphinx, name: str, obj: object, options: object, bases: list[type]) -> None:
    """Replace each private slmswap base in ``bases`` with its own bases, until none is left."""
    while any(_private_base(base) for base in bases):
        bases[:] = [public for base in bases for public in (base.__bases__ if _private_base(base) else (base,))]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _set_template_context)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-process-signature", _model_signature, priority=400)  # before sphinx-autodoc-typehints
    app.connect("autodoc-process-docstring", _keep_plain, priority=499)  # napoleon runs at 500
    app.connect("autodoc-process-docstring", _restore_plain, priority=501)
    app.connect("autodoc-process-docstring", _fill_data_docstring, priority=550)
    app.connect("autodoc-process-docstring", _model_fields, priority=600)  # after sphinx-autodoc-typehints
    app.connect("autodoc-process-docstring", _link_type_aliases, priority=700)
    app.connect("missing-reference", _resolve_alias)
    app.connect("missing-reference", _resolve_external, priority=600)  # after intersphinx's own attempt
    app.connect("env-check-consistency", _check_api_coverage)
    return {"version": slmswap.__version__, "parallel_read_safe": True, "parallel_write_safe": True}
