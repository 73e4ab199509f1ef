"""XML tool calls: ``<tool_call name="fn">{"arg": ...}</tool_call>``.

The tool's name is the ``name`` attribute and the body is the arguments as one JSON object; several calls are
separated by newlines. Tools are listed as JSON in the system prompt ahead of the conversation's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from slmswap.errors import FormatError
from slmswap.formats._scan import (
    ParseStopError,
    TagBlock,
    as_arguments,
    decode_json_value,
    dumps,
    make_call,
    parse_tagged,
)
from slmswap.formats.base import ChatFormat, ParseFailure, ParseResult
from slmswap.formats.grammar import CallTag, OutputGrammar, argument_schema
from slmswap.formats.serving import ServingHooks, calls_after_content, listing_system_prompt
from slmswap.schema import Conversation, Message, Tool, ToolCall

__all__ = ["XML_TOOLS_INSTRUCTIONS", "XmlFormat"]

XML_TOOLS_INSTRUCTIONS = (
    "You can call these tools. Each tool is described as JSON:\n{tools}\n"
    'To call a tool, answer with <tool_call name="TOOL_NAME">{{"argument": "value"}}</tool_call>, '
    "one tag per call."
)
"""The tool listing put in the system prompt; ``{tools}`` receives one JSON tool spec per line."""

_SAFE_NAME = re.compile(r"[^\"'<>&\s]+")


class XmlFormat(ChatFormat):
    """XML ``<tool_call name="...">`` calls with a JSON-object body."""

    name: ClassVar[str] = "xml"
    version: ClassVar[str] = "1"
    system_prompt_source: ClassVar[str] = (
        "a tool listing (JSON per tool) with the call syntax, then the conversation's own"
    )

    def system_prompt(self, conversation: Conversation) -> str | None:
        """The tool listing, followed by the conversation's system prompt."""
        if not conversation.tools:
            return conversation.system
        listed = "\n".join(dumps(tool.to_openai()["function"]) for tool in conversation.tools)
        block = XML_TOOLS_INSTRUCTIONS.format(tools=listed)
        return f"{block}\n\n{conversation.system}" if conversation.system else block

    def render_assistant(self, turn: Message) -> str:
        """Content (if any), then one ``<tool_call name="...">`` tag per call, separated by newlines."""
        if turn.content and "<tool_call" in turn.content:
            raise FormatError(f"{self.name} cannot express assistant text that contains '<tool_call'")
        parts = [turn.content] if turn.content else []
        for call in turn.tool_calls:
            if not _SAFE_NAME.fullmatch(call.name):
                raise FormatError(f"{self.name} cannot put the tool name {call.name!r} in an XML attribute")
            parts.append(f'<tool_call name="{call.name}">{dumps(call.arguments)}</tool_call>')
        return "\n".join(parts)

    def output_grammar(self, tools: Sequence[Tool]) -> OutputGrammar:
        """Text, or optional text then ``<tool_call name="...">`` tags of the offered tools, one per line (a
        tool whose name cannot stand in the attribute is left out: the format cannot write its calls)."""
        calls = tuple(
            CallTag(tool.name, f'<tool_call name="{tool.name}">', argument_schema(tool), "</tool_call>")
            for tool in tools
            if _SAFE_NAME.fullmatch(tool.name)
        )
        return OutputGrammar(calls=calls, trigger="<tool_call", separator="\n")

    def serving_hooks(self) -> ServingHooks:
        """:meth:`system_prompt`, :meth:`render_assistant` and the plain tool results in Jinja."""
        listing = '(tools|map(attribute="function")|map("tojson")|join("\\n"))'
        system = listing_system_prompt(XML_TOOLS_INSTRUCTIONS, listing)
        assistant = calls_after_content('"<tool_call name=\\"" ~ f.name ~ "\\">" ~ a ~ "</tool_call>"')
        return ServingHooks(
            system=system, assistant=assistant, tool_result='{%- set slmswap.text = m.content or "" -%}'
        )

    def response_fields(self, content_close: str) -> dict[str, Any]:
        """Content, then ``<tool_call name="...">`` tags with a JSON body."""
        return {
            "tool_calls": {
                "open_pattern": r'\s*<tool_call name="(?P<name>[^"]*)">',
                "close_pattern": r"</tool_call>\s*",
                "repeats": True,
                "content": "json",
                "transform": {"type": "function", "function": {"name": "{name}", "arguments": "{content}"}},
            },
            "content": {"close_pattern": content_close, "content": "text"},
        }

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        """Leading content, then ``<tool_call name="...">{...}</tool_call>`` tags."""
        return parse_tagged(text, _read_call, strict=strict, tools=tools, bare_call=_looks_like_call)


def _looks_like_call(value: Any) -> bool:
    return isinstance(value, dict) and "name" in value and "arguments" in value


def _read_call(block: TagBlock, strict: bool, forgiven: list[str]) -> ToolCall:
    span = (block.start, block.end)
    name = block.attrs.get("name")
    body = block.body
    if block.self_closing:
        if strict or "arguments" not in block.attrs:
            raise ParseStopError(
                ParseFailure.MALFORMED_CALL, "self-closing <tool_call/> tag: the arguments go in the body", span
            )
        forgiven.append("self_closing_tag")
        text = block.attrs["arguments"]
        body, _ = decode_json_value(text, 0, lenient=True, stop=len(text), forgiven=forgiven)
    if name is None:
        if strict or not _looks_like_call(body):
            raise ParseStopError(ParseFailure.MALFORMED_CALL, 'the <tool_call> tag needs a name="..." attribute', span)
        forgiven.append("name_in_body")
        name, body = body["name"], body["arguments"]
    elif set(block.attrs) - {"name", "arguments" if block.self_closing else "name"}:
        if strict:
            raise ParseStopError(ParseFailure.MALFORMED_CALL, f"unexpected attributes {sorted(block.attrs)}", span)
        forgiven.append("extra_attributes")
    return make_call(name, as_arguments(body, strict=strict, forgiven=forgiven, span=span), span)
