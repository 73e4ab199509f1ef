"""NousResearch Hermes function calling.

Tools are listed as JSON inside ``<tools></tools>`` in the system prompt, after Hermes' instruction text; calls
are ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (several per turn allowed), and tool
results are ``<tool_response>`` blocks. The system prompt is Hermes' instruction block followed by the
conversation's own system prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from slmswap.errors import FormatError
from slmswap.formats._scan import ParseStopError, TagBlock, as_arguments, dumps, make_call, parse_tagged
from slmswap.formats.base import ChatFormat, ParseFailure, ParseResult
from slmswap.formats.grammar import CallTag, OutputGrammar, argument_schema
from slmswap.formats.serving import ServingHooks, calls_after_content, hermes_call_fields, listing_system_prompt
from slmswap.schema import Conversation, Message, Tool, ToolCall

__all__ = ["HERMES_INSTRUCTIONS", "HermesFormat", "hermes_grammar"]

HERMES_INSTRUCTIONS = (
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> XML "
    "tags. You may call one or more functions to assist with the user query. Don't make assumptions about what "
    "values to plug into functions. Here are the available tools: <tools>\n{tools}\n</tools>\n"
    "For each function call return a json object with function name and arguments within <tool_call></tool_call> "
    "XML tags as follows:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n'
    "</tool_call>"
)
"""Hermes' system-prompt instruction block; ``{tools}`` receives one JSON tool spec per line."""


class HermesFormat(ChatFormat):
    """Hermes ``<tool_call>`` JSON calls, tools in the system prompt."""

    name: ClassVar[str] = "hermes"
    version: ClassVar[str] = "1"
    system_prompt_source: ClassVar[str] = (
        "Hermes' function-calling instructions with the tools as JSON in <tools></tools>, then the conversation's "
        "own system prompt"
    )

    @property
    def call_syntax(self) -> str:
        """``"hermes"``."""
        return "hermes"

    def system_prompt(self, conversation: Conversation) -> str | None:
        """Hermes' instructions listing the tools, followed by the conversation's system prompt."""
        if not conversation.tools:
            return conversation.system
        listed = "\n".join(dumps(tool.to_openai()) for tool in conversation.tools)
        block = HERMES_INSTRUCTIONS.format(tools=listed)
        return f"{block}\n\n{conversation.system}" if conversation.system else block

    def render_assistant(self, turn: Message) -> str:
        """Content (if any), then one ``<tool_call>`` block per call, separated by newlines."""
        if turn.content and "<tool_call" in turn.content:
            raise FormatError("hermes cannot express assistant text that contains '<tool_call'")
        parts = [turn.content] if turn.content else []
        parts += [
            f"<tool_call>\n{dumps({'name': c.name, 'arguments': c.arguments})}\n</tool_call>" for c in turn.tool_calls
        ]
        return "\n".join(parts)

    def render_tool_result(self, message: Message) -> str:
        """The result wrapped in ``<tool_response>``, with the tool's name when known."""
        body = dumps({"name": message.name, "content": message.content}) if message.name else message.content
        return f"<tool_response>\n{body}\n</tool_response>"

    def output_grammar(self, tools: Sequence[Tool]) -> OutputGrammar:
        """Text, or optional text then ``<tool_call>`` blocks of the offered tools, one per line."""
        return hermes_grammar(tools)

    def serving_hooks(self) -> ServingHooks:
        """:meth:`system_prompt`, :meth:`render_assistant` and :meth:`render_tool_result` in Jinja."""
        system = listing_system_prompt(HERMES_INSTRUCTIONS, '(tools|map("tojson")|join("\\n"))')
        assistant = calls_after_content(
            '"<tool_call>\\n{\\"name\\": " ~ f.name|tojson ~ ", \\"arguments\\": " ~ a ~ "}\\n</tool_call>"'
        )
        tool_result = (
            "{%- if slmswap.name -%}"
            '{%- set body = "{\\"name\\": " ~ slmswap.name|tojson ~ ", \\"content\\": " ~ m.content|tojson ~ "}" -%}'
            "{%- else -%}{%- set body = m.content -%}{%- endif -%}"
            '{%- set slmswap.text = "<tool_response>\\n" ~ body ~ "\\n</tool_response>" -%}'
        )
        return ServingHooks(system=system, assistant=assistant, tool_result=tool_result)

    def response_fields(self, content_close: str) -> dict[str, Any]:
        """Content, then ``<tool_call>`` JSON blocks."""
        return hermes_call_fields(content_close)

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        """Leading content, then ``<tool_call>`` blocks holding ``{"name", "arguments"}`` JSON."""
        return parse_tagged(text, _read_call, strict=strict, tools=tools, bare_call=_looks_like_call)


def hermes_grammar(tools: Sequence[Tool]) -> OutputGrammar:
    """The grammar of Hermes ``<tool_call>`` output (also that of the native format's Hermes family)."""
    calls = tuple(
        CallTag(
            tool.name,
            f'<tool_call>\n{{"name": {dumps(tool.name)}, "arguments": ',
            argument_schema(tool),
            "}\n</tool_call>",
        )
        for tool in tools
    )
    return OutputGrammar(calls=calls, trigger="<tool_call", separator="\n")


def _looks_like_call(value: Any) -> bool:
    return isinstance(value, dict) and "name" in value and ("arguments" in value or "parameters" in value)


def _read_call(block: TagBlock, strict: bool, forgiven: list[str]) -> ToolCall:
    span = (block.start, block.end)
    body = block.body
    if not isinstance(body, dict):
        raise ParseStopError(
            ParseFailure.MALFORMED_CALL, f"a call must be a JSON object, got {type(body).__name__}", span
        )
    arguments_key = "arguments"
    if "arguments" not in body and "parameters" in body and not strict:
        arguments_key = "parameters"
        forgiven.append("parameters_key")
    if "name" not in body or (strict and arguments_key not in body):
        raise ParseStopError(
            ParseFailure.MALFORMED_CALL, f'a call needs the keys "name" and "arguments", got {sorted(body)}', span
        )
    if set(body) - {"name", arguments_key}:
        if strict:
            raise ParseStopError(
                ParseFailure.MALFORMED_CALL, f'unexpected keys besides "name" and "arguments": {sorted(body)}', span
            )
        forgiven.append("extra_keys")
    arguments = as_arguments(body.get(arguments_key, {}), strict=strict, forgiven=forgiven, span=span)
    return make_call(body["name"], arguments, span)
