"""What a format's output may be, as a grammar for constrained decoding.

A format describes its output language for a given set of offered tools with an :class:`OutputGrammar`
(:meth:`~slmswap.ChatFormat.output_grammar`): either one JSON answer under a schema (the structured format), or
free text and/or calls, each call being fixed text, the arguments as one JSON object under the tool's
parameter schema, and fixed text again (:class:`CallTag`) — the shape of vLLM's and xgrammar's structural tags.
Only offered tools can be called, and only with declared arguments (:func:`argument_schema` closes the
schema); free text, where the format allows it, never contains the text every call starts with, so the model
can still answer in words (abstain) but cannot write a call outside the grammar.

:meth:`OutputGrammar.to_lark` writes the grammar in the Lark dialect of llguidance, the engine behind
:mod:`slmswap.evaluation.constrained` and vLLM's ``guidance`` structured-output backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slmswap.errors import FormatError
from slmswap.schema import Tool

__all__ = [
    "JSON_LAYOUT",
    "SAFE_NUMBER",
    "CallTag",
    "OutputGrammar",
    "argument_schema",
    "bounded_numbers",
]

JSON_LAYOUT: dict[str, Any] = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
"""How the grammar lays JSON out: exactly as the formats write it (``json.dumps``: ``", "`` and ``": "``, no
other whitespace), so the model is held to the text it was trained on and cannot pad with whitespace forever."""


SAFE_NUMBER = 2**53 - 1
"""The bound the grammar puts on a number the schema leaves unbounded: past it a JSON number is no longer exact
in a double, and far past it (``1e999``) it is no number at all (infinity), which no format may write."""


def argument_schema(tool: Tool) -> dict[str, Any]:
    """``tool``'s parameter schema as a constraint: an object, (unless the schema says otherwise) with no
    properties besides the declared ones, at every depth, and numbers within :data:`SAFE_NUMBER`.

    Nested objects are closed too: an undeclared property would take any JSON value, numbers past any bound
    (``-1E10110``, which no JSON parser reads as a number) included."""
    schema: dict[str, Any] = _closed_objects(bounded_numbers(dict(tool.parameters)))
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    schema.setdefault("additionalProperties", False)
    return schema


def _closed_objects(schema: Any) -> Any:
    """``schema`` with every object that declares ``properties`` (and says nothing of others) closed to others."""
    if isinstance(schema, list):
        return [_closed_objects(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed_objects(value) for key, value in schema.items()}
    if closed.get("type") == "object" and isinstance(closed.get("properties"), dict):  # not a property named "type"
        closed.setdefault("additionalProperties", False)
    return closed


def bounded_numbers(schema: Any) -> Any:
    """``schema`` with every ``"type": "number"`` that has no bound held within :data:`SAFE_NUMBER`."""
    if isinstance(schema, list):
        return [bounded_numbers(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: bounded_numbers(value) for key, value in schema.items()}
    if bounded.get("type") == "number":
        if not {"minimum", "exclusiveMinimum"} & set(bounded):
            bounded["minimum"] = -SAFE_NUMBER
        if not {"maximum", "exclusiveMaximum"} & set(bounded):
            bounded["maximum"] = SAFE_NUMBER
    return bounded


@dataclass(frozen=True)
class CallTag:
    """How the format writes one call of ``tool``: ``begin``, the arguments as a JSON object satisfying
    ``arguments`` (a JSON Schema), then ``end``."""

    tool: str
    begin: str
    arguments: dict[str, Any]
    end: str


@dataclass(frozen=True)
class OutputGrammar:
    """The outputs a format accepts for one prompt.

    With ``answer`` set, the output is exactly one JSON value satisfying that schema. Otherwise it is free
    text (when ``text``), or optional free text followed by one or more calls (``calls``, one tag per offered
    tool) separated by ``separator``. Every call begins with ``trigger``, which free text never contains.
    """

    calls: tuple[CallTag, ...] = ()
    trigger: str = ""
    separator: str = "\n"
    text: bool = True
    answer: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.answer is not None and (self.calls or self.text):
            raise FormatError("an output grammar with a JSON answer has neither free text nor calls")
        if self.calls and not self.trigger:
            raise FormatError("an output grammar with calls needs the trigger every call starts with")
        for tag in self.calls:
            if not tag.begin.startswith(self.trigger):
                raise FormatError(f"the call of {tag.tool!r} does not start with the trigger {self.trigger!r}")
        if self.answer is None and not self.calls and not self.text:
            raise FormatError("an output grammar must allow free text, calls or a JSON answer")

    def to_lark(self) -> str:
        """The grammar in llguidance's Lark dialect (JSON laid out as :data:`JSON_LAYOUT` says)."""
        if self.answer is not None:
            return f"start: {_json_rule(self.answer)}\n"
        alternatives = []
        lines = []
        if self.text:
            # Plain text: anything with a non-blank character and without the trigger (a blank output is no answer).
            alternatives.append("TEXT")
            lines.append(f"TEXT: {_without(self.trigger)} & /(.|\\n)*\\S(.|\\n)*/")
        if self.calls:
            rest = [f"r{k}" for k in range(len(self.calls))]
            # The first call comes after a lead-in: free text ended (lazily) by the first trigger, or the trigger.
            alternatives.append(f"lead first ({_literal(self.separator)} call)*")
            trigger = _literal(self.trigger)
            lines.append(f"lead[lazy]: {f'{_without(self.trigger)} {trigger}' if self.text else trigger}")
            lines.append("first: " + " | ".join(rest))
            lines.append(f"call: {trigger} ({' | '.join(rest)})")
            for name, tag in zip(rest, self.calls, strict=True):
                head = tag.begin[len(self.trigger) :]
                parts = [_literal(head)] if head else []
                parts.append(_json_rule(tag.arguments))
                if tag.end:
                    parts.append(_literal(tag.end))
                lines.append(f"{name}: " + " ".join(parts))
        return "start: " + " | ".join(alternatives) + "\n" + "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    """``text`` as a Lark string literal."""
    return json.dumps(text, ensure_ascii=False)


def _json_rule(schema: dict[str, Any]) -> str:
    return "%json " + json.dumps({**schema, "x-guidance": {**JSON_LAYOUT, "lenient": True}}, ensure_ascii=False)


def _without(trigger: str) -> str:
    """A regex (llguidance's dialect: ``&`` and ``~`` combine regexes) of the strings without ``trigger``."""
    escaped = "".join(f"\\x{{{ord(char):x}}}" for char in trigger)
    return f"(/(.|\\n)*/ & ~/(.|\\n)*{escaped}(.|\\n)*/)" if trigger else "/(.|\\n)*/"
