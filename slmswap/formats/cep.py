"""CEP, the context engineering prefix: explicit formatting rules ahead of the system prompt, and XML calls.

The rules block is plain text (no ``<|...|>``-style markers, which a tokenizer would not know and a model
would learn as noise). Four variants:

``universal``
    rules for raw JSON answers and for XML tool calls, with the common mistakes to avoid;
``compact``
    the same, condensed;
``structured``
    JSON answers only;
``toolcall``
    XML tool calls only.

:func:`choose_cep_variant` picks a variant from the parse failures (and lenient fixes) of an earlier
evaluation, as the seed project did by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, get_args

from pydantic import JsonValue

from slmswap.errors import FormatError
from slmswap.formats.serving import ServingHooks, jinja_literal
from slmswap.formats.xml import XmlFormat
from slmswap.schema import Conversation

__all__ = ["CEP_RULES", "CepFormat", "CepVariant", "choose_cep_variant"]

CepVariant = Literal["universal", "compact", "structured", "toolcall"]
"""The four rule sets."""

_JSON_RULES = """\
When the answer is JSON:
- Answer with exactly one raw JSON object and nothing else.
- Do not wrap it in markdown code fences (no ```json).
- Use exactly the field names the schema gives; include all required fields and omit unneeded optional ones.
- Use the JSON type the schema asks for: a string where a string is expected, never an array."""

_CALL_RULES = """\
When calling a tool:
- Write each call as <tool_call name="TOOL_NAME">{"parameter": value}</tool_call>.
- Put the arguments in the body as one JSON object; never in an arguments= attribute.
- Never use a self-closing tag such as <tool_call name="TOOL_NAME"/>.
- Use the exact tool name and the exact parameter names from the tool's schema (for example q, not query).
- One call per tag; write several tags for several calls.
- Do not wrap calls in markdown code fences."""

CEP_RULES: dict[str, str] = {
    "universal": f"Formatting rules. Follow them exactly.\n\n{_JSON_RULES}\n\n{_CALL_RULES}",
    "compact": (
        "Formatting rules: answer with raw JSON or with "
        '<tool_call name="TOOL_NAME">{"parameter": value}</tool_call> tags only; no markdown fences, '
        "no self-closing tags, no arguments= attribute, exact tool and parameter names from the schema, "
        "arguments as one JSON object, one call per tag, all required fields and no unneeded optional ones."
    ),
    "structured": f"Formatting rules. Follow them exactly.\n\n{_JSON_RULES}",
    "toolcall": f"Formatting rules. Follow them exactly.\n\n{_CALL_RULES}",
}
"""The plain-text rules block of each variant."""


class CepFormat(XmlFormat):
    """XML tool calls with a rules block (the context engineering prefix) ahead of the system prompt."""

    name: ClassVar[str] = "cep"
    version: ClassVar[str] = "1"
    system_prompt_source: ClassVar[str] = (
        "the CEP formatting-rules block of the chosen variant, the tool listing, then the conversation's own"
    )

    def __init__(self, variant: CepVariant = "universal") -> None:
        if variant not in get_args(CepVariant):
            raise FormatError(f"unknown CEP variant {variant!r}; expected one of {', '.join(get_args(CepVariant))}")
        self.variant: CepVariant = variant

    def options(self) -> dict[str, JsonValue]:
        """``{"variant": ...}``."""
        return {"variant": self.variant}

    def system_prompt(self, conversation: Conversation) -> str | None:
        """The rules block, then the XML format's system prompt."""
        rest = super().system_prompt(conversation)
        rules = CEP_RULES[self.variant]
        return f"{rules}\n\n{rest}" if rest else rules

    def serving_hooks(self) -> ServingHooks:
        """The XML format's hooks, with the rules block ahead of its system prompt."""
        xml = super().serving_hooks()
        rules = jinja_literal(CEP_RULES[self.variant])
        system = (
            xml.system + f'{{%- set slmswap.system = {rules} ~ "\\n\\n" ~ slmswap.system '
            f"if slmswap.system else {rules} -%}}"
        )
        return ServingHooks(system=system, assistant=xml.assistant, tool_result=xml.tool_result)


def choose_cep_variant(counts: Mapping[str, int]) -> CepVariant:
    """The variant that targets the most frequent mistakes of an earlier evaluation.

    ``counts`` maps parse failure reasons (``"invalid_json"``, ``"malformed_call"``, ...) and lenient fixes
    (``"markdown_fence"``, ``"self_closing_tag"``, ...) to how often they occurred. Markdown wrappers and
    argument problems call for the JSON rules; broken or missing call tags for the tool-call rules; anything
    else for the universal set.
    """
    json_side = sum(counts.get(k, 0) for k in ("markdown_fence", "invalid_json", "bad_arguments", "schema_mismatch"))
    call_side = sum(
        counts.get(k, 0) for k in ("malformed_call", "no_tool_call", "self_closing_tag", "missing_tags", "unclosed_tag")
    )
    if json_side > call_side:
        return "structured"
    if call_side > json_side:
        return "toolcall"
    return "universal"
