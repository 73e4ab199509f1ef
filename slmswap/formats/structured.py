"""Structured output: the assistant answers with exactly one JSON object.

The answer is written canonically (``json.dumps`` with non-ASCII kept), so a turn built with
:meth:`StructuredFormat.turn` round-trips exactly. An optional JSON Schema is stated in the system prompt and
checked when parsing (failure ``schema_mismatch``). This format has no tool calls: a conversation with tool
calls is refused with a :class:`~slmswap.errors.FormatError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.validators import validator_for
from pydantic import JsonValue

from slmswap.errors import DataError, FormatError
from slmswap.formats._scan import ParseStopError, decode_json_value, dumps, strip_fences, without_reasoning
from slmswap.formats.base import ChatFormat, ParseFailure, ParseResult
from slmswap.formats.grammar import OutputGrammar, bounded_numbers
from slmswap.formats.registry import tool_call_hint
from slmswap.formats.serving import ServingHooks, jinja_literal
from slmswap.schema import Conversation, JsonObject, Message, Tool
from slmswap.validation import first_error

__all__ = ["STRUCTURED_INSTRUCTIONS", "StructuredFormat"]

STRUCTURED_INSTRUCTIONS = "Answer with exactly one JSON object and nothing else."
"""The instruction that opens the system prompt."""


class StructuredFormat(ChatFormat):
    """One JSON object per assistant turn, optionally validated against a JSON Schema."""

    name: ClassVar[str] = "structured"
    version: ClassVar[str] = "1"
    writes_tool_calls: ClassVar[bool] = False
    system_prompt_source: ClassVar[str] = (
        "the JSON-only instruction (with the JSON Schema when one is set), then the conversation's own"
    )

    def __init__(self, schema: JsonObject | None = None) -> None:
        if schema is not None and not isinstance(schema, dict):
            raise FormatError(
                f"the structured format's schema must be a JSON Schema object (a dict), got "
                f"{type(schema).__name__}: {schema!r:.60}"
            )
        if schema is not None:
            try:
                validator_for(schema).check_schema(schema)
            except jsonschema_exceptions.SchemaError as exc:
                raise FormatError(f"the structured format's schema is not valid JSON Schema: {exc.message}") from exc
        self.schema = schema

    def options(self) -> dict[str, JsonValue]:
        """``{"schema": ...}`` when a schema is set."""
        return {"schema": self.schema} if self.schema is not None else {}

    @staticmethod
    def turn(answer: JsonObject) -> Message:
        """The assistant turn answering with ``answer``."""
        return Message.assistant(content=dumps(answer))

    def system_prompt(self, conversation: Conversation) -> str | None:
        """The JSON-only instruction (and schema), then the conversation's system prompt."""
        block = STRUCTURED_INSTRUCTIONS
        if self.schema is not None:
            block += f"\nThe object must satisfy this JSON Schema:\n{dumps(self.schema)}"
        return f"{block}\n\n{conversation.system}" if conversation.system else block

    def output_grammar(self, tools: Sequence[Tool]) -> OutputGrammar:
        """One JSON object, satisfying the schema when one is set (tools play no part)."""
        schema = bounded_numbers(self.schema) if self.schema is not None else {}
        return OutputGrammar(text=False, answer={**schema, "type": "object"})

    def serving_hooks(self) -> ServingHooks:
        """The instruction block ahead of the system prompt; answers and tool results pass as they are (an
        answer is sent back as the JSON text the model wrote)."""
        block = jinja_literal(self.system_prompt(Conversation(messages=(Message.user(""),))) or "")
        system = f'{{%- set slmswap.system = {block} ~ "\\n\\n" ~ slmswap.system if slmswap.system else {block} -%}}'
        content = '{%- set slmswap.text = m.content or "" -%}'
        return ServingHooks(system=system, assistant=content, tool_result=content)

    def response_fields(self, content_close: str) -> dict[str, Any]:
        """All of the output is content (the JSON answer as text)."""
        return {"content": {"close_pattern": content_close, "content": "text"}}

    def render_assistant(self, turn: Message) -> str:
        """The answer object in canonical JSON."""
        if turn.tool_calls:
            raise FormatError(f"the structured format cannot express tool calls; use {tool_call_hint()}")
        try:
            value = json.loads(turn.content or "")
        except ValueError as exc:
            raise FormatError(f"structured answers must be JSON objects; got {turn.content!r:.80}") from exc
        if not isinstance(value, dict):
            raise FormatError(f"structured answers must be JSON objects; got a {type(value).__name__}")
        return dumps(value)

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        """Exactly one JSON object (lenient: also inside fences or prose)."""
        forgiven: list[str] = []
        try:
            value = self._read(text, strict, forgiven)
        except ParseStopError as failed:
            return ParseResult(None, failed.failure, failed.detail, failed.span, tuple(forgiven))
        try:
            turn = self.turn(value)
        except (TypeError, ValueError):  # a lenient Python literal holding sets, bytes, ...
            return ParseResult(None, ParseFailure.INVALID_JSON, "the answer holds values JSON cannot express")
        except DataError as exc:  # a JSON escape such as \ud800 decoded to a lone surrogate: not text
            return ParseResult(
                None, ParseFailure.INVALID_JSON, f"the answer holds a string that is not text: {exc.message}"
            )
        if self.schema is not None:
            error = first_error(self.schema, value)
            if error is not None:
                where, _, message = error.partition(": ")
                detail = f"the answer breaks the schema at {where}: {message}"
                return ParseResult(turn, ParseFailure.SCHEMA_MISMATCH, detail, forgiven=tuple(forgiven))
        return ParseResult(turn, forgiven=tuple(forgiven))

    @staticmethod
    def _read(text: str, strict: bool, forgiven: list[str]) -> dict[str, Any]:
        text = without_reasoning(text)
        if not strict:
            text = strip_fences(text, forgiven)
        if not text.strip():
            raise ParseStopError(ParseFailure.EMPTY, "the output is empty", (0, len(text)))
        start = len(text) - len(text.lstrip()) if strict else text.find("{")
        if start < 0 or text[start] != "{":
            raise ParseStopError(
                ParseFailure.INVALID_JSON, "the answer is not a JSON object", (max(start, 0), len(text))
            )
        value, end = decode_json_value(text, start, lenient=not strict, stop=len(text), forgiven=forgiven)
        if text[end:].strip() or (not strict and text[:start].strip()):
            if strict:
                raise ParseStopError(ParseFailure.EXTRA_TEXT, "text after the JSON object", (end, len(text)))
            forgiven.append("surrounding_text")
        if not isinstance(value, dict):
            raise ParseStopError(
                ParseFailure.INVALID_JSON, f"the answer is a {type(value).__name__}, not an object", (start, end)
            )
        return value
