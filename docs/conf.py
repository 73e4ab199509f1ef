"""Sphinx configuration for the slmswap documentation.

Build from the repository root; warnings are errors, so a broken reference, a bad docstring, an undocumented
public name or a failing example fails the build::

    python -m sphinx -W --keep-going -b html    docs docs/_build/html
    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest

(``make -C docs html doctest`` runs the same two commands.)

Layout:

* ``index.md``: the landing page and the tables of contents. A new guide is a Markdown file in ``guide/``
  added to the "User guide" toctree there; a new reference page (CLI, configuration) goes in ``reference/``
  and the "Reference" toctree.
* ``api/index.rst``: the list of public modules; autosummary generates one page per module into
  ``api/generated/`` (not in git) from ``_templates/autosummary/module.rst``.
* ``_ext/slmswap_docs.py``: a local extension that decides which module documents each public name, resolves
  references to any exported spelling, checks that nothing public is left out, and renders pydantic models.
"""

from __future__ import annotations

import doctest
import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the working tree, whether or not slmswap is installed
sys.path.insert(0, str(DOCS / "_ext"))

import slmswap  # noqa: E402  (after the path set-up above)

# -- Project ---------------------------------------------------------------------------------------------------

project = "slmswap"
author = "The slmswap developers"
copyright = "The slmswap developers"
release = slmswap.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx_autodoc_typehints",
    "sphinx_copybutton",
    "sphinxarg.ext",  # the CLI reference, generated from slmswap.cli.build_parser
    "slmswap_docs",  # _ext/slmswap_docs.py
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# Every cross-reference must resolve: a typo in a role, or an API name that moved, fails the build.
nitpicky = True

# -- HTML ------------------------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"slmswap {release}"

# -- MyST (Markdown pages) -------------------------------------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # "[text](#some-heading)" links to headings up to level 3

# -- Copy button: copy the commands and code, not the prompts or the output ------------------------------------

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True

# -- autodoc / autosummary / type hints ------------------------------------------------------------------------

autosummary_generate = True
autosummary_ignore_module_all = False  # a module's public API is its __all__
autodoc_member_order = "groupwise"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # pydantic's configuration dict is an implementation detail of every model in slmswap.schema.
    "exclude-members": "model_config",
}
# Type aliases are shown by name, linked to their entries, rather than expanded in every signature.
autodoc_type_aliases = {
    "RowSource": "slmswap.data.RowSource",
    "OnError": "slmswap.data.OnError",
    "SourceKind": "slmswap.data.SourceKind",
    "JsonObject": "slmswap.schema.JsonObject",
    "Role": "slmswap.schema.Role",
    "JsonValue": "pydantic.JsonValue",  # else shown as its class, "TypeAliasType"
    # A template lint check (slmswap.templates.lint.CHECKS) is a callable of a private context type; shown by
    # what it returns. The string is evaluated in slmswap.templates.lint, which imports Callable and Finding.
    "Check": "Callable[..., list[Finding]]",
}

# Type hints are rendered by sphinx-autodoc-typehints in the parameter list (with defaults), not in the
# signature line, which stays short.
typehints_use_signature = False
typehints_use_signature_return = False
typehints_defaults = "comma"
always_document_param_types = True
typehints_document_rtype = True

# sphinx-autodoc-typehints 3.6 calls a Sphinx API that Sphinx 9 deprecates, once per docstring: a Python
# warning about the extension's own code (not a Sphinx build warning), silenced to keep the log readable.
warnings.filterwarnings(
    "ignore", message=r".*_RstSnippetParser\.set_application' is deprecated", module="sphinx_autodoc_typehints"
)

napoleon_google_docstring = True
napoleon_numpy_docstring = False

# -- doctest: every ``{doctest}`` block in the guides runs under ``-b doctest`` ----------------------------------

doctest_global_setup = "import slmswap"
# Outputs are compared exactly, except that "..." in an expected output matches anything.
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1

# -- intersphinx -----------------------------------------------------------------------------------------------
#
# Links into the documentation of Python and of the libraries slmswap builds on. Sphinx downloads each
# project's inventory (objects.inv) at build time, and a failed download is a warning, which -W turns into a
# failed build. CI has no network, so the mapping is only used when SLMSWAP_DOCS_ONLINE=1 (e.g. on Read the
# Docs); a plain build never touches the network:
#
#     SLMSWAP_DOCS_ONLINE=1 python -m sphinx -W --keep-going -b html docs docs/_build/html
#
# The Hugging Face projects publish their inventories from their doc-builder sites (huggingface/doc-builder#126).
# pydantic is mapped too: the typed core's classes derive from pydantic.BaseModel; numpy: the live verdict's
# confidence sequences are arrays; SQLAlchemy: the traffic store's engine and table.

ONLINE = os.environ.get("SLMSWAP_DOCS_ONLINE", "") == "1"

intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "transformers": ("https://huggingface.co/docs/transformers/main/en", None),
        "trl": ("https://huggingface.co/docs/trl/main/en", None),
        "peft": ("https://huggingface.co/docs/peft/main/en", None),
        "datasets": ("https://huggingface.co/docs/datasets/main/en", None),
        "pydantic": ("https://docs.pydantic.dev/latest", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sqlalchemy": ("https://docs.sqlalchemy.org/en/20", None),
    }
    if ONLINE
    else {}
)
intersphinx_timeout = 30

# Offline, references into those projects cannot resolve. They still render (as unlinked code), and only they
# are exempt from the nitpicky check: the standard library (every module in sys.stdlib_module_names) and the
# third-party packages that slmswap's signatures and docstrings mention, by package prefix. Nothing under
# "slmswap." is ever exempt.
_EXTERNAL_NAMESPACES = (
    *sorted(sys.stdlib_module_names),
    "datasets",
    "httpx",
    "jsonschema",
    "numpy",
    "peft",
    "pydantic",
    "pydantic_core",
    "sqlalchemy",
    "starlette",
    "torch",
    "transformers",
    "trl",
)
nitpick_ignore_regex: list[tuple[str, str]] = []
if not ONLINE:
    nitpick_ignore_regex += [
        (r"py:.*", r"({})\..+".format("|".join(_EXTERNAL_NAMESPACES))),
        # The "..." of tuple[X, ...] links to Python's Ellipsis constant, which only Python's inventory has.
        (r"py:data", r"Ellipsis"),
    ]
