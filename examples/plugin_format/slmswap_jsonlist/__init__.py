"""An slmswap chat format plugin: the assistant's tool calls as one JSON list.

``[{"name": "get_weather", "arguments": {"city": "Paris"}}]``; a turn with no calls is plain text. Tools are
listed in the system prompt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from slmswap.errors import FormatError
from slmswap.formats import ChatFormat, ParseFailure, ParseResult
from slmswap.schema import Conversation, Message, Tool, ToolCall

__all__ = ["JsonListFormat"]


class JsonListFormat(ChatFormat):
    """Tool calls as a JSON list of ``{"name", "arguments"}`` objects."""

    name: ClassVar[str] = "jsonlist"
    version: ClassVar[str] = "1"
    system_prompt_source: ClassVar[str] = "a JSON tool listing, then the conversation's own system prompt"

    def system_prompt(self, conversation: Conversation) -> str | None:
        if not conversation.tools:
            return conversation.system
        listing = json.dumps([tool.to_openai() for tool in conversation.tools], ensure_ascii=False)
        block = f'Tools: {listing}\nTo call tools, answer with a JSON list of {{"name", "arguments"}} objects.'
        return f"{block}\n\n{conversation.system}" if conversation.system else block

    def render_assistant(self, turn: Message) -> str:
        # Refuse what parse could not give back: the round-trip law holds for every turn this accepts.
        if turn.tool_calls and turn.content:
            raise FormatError("jsonlist cannot write text and tool calls in one turn")
        if not turn.tool_calls:
            if (turn.content or "").lstrip().startswith("["):
                raise FormatError("jsonlist cannot write a text answer that starts with '['")
            return turn.content or ""
        return json.dumps([{"name": c.name, "arguments": c.arguments} for c in turn.tool_calls], ensure_ascii=False)

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        stripped = text.strip()
        if not stripped:
            return ParseResult(None, ParseFailure.EMPTY, "the output is empty")
        if not stripped.startswith("["):
            return ParseResult(Message.assistant(content=stripped))
        try:
            calls = json.loads(stripped)
        except json.JSONDecodeError as exc:
            return ParseResult(None, ParseFailure.INVALID_JSON, exc.msg, (exc.pos, len(text)))
        if not isinstance(calls, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls
        ):
            return ParseResult(None, ParseFailure.MALFORMED_CALL, "expected a list of {name, arguments} objects")
        if not all(isinstance(c.get("arguments", {}), dict) for c in calls):
            return ParseResult(None, ParseFailure.BAD_ARGUMENTS, "arguments must be JSON objects")
        turn = Message.assistant(tool_calls=[ToolCall(name=c["name"], arguments=c.get("arguments", {})) for c in calls])
        known = {tool.name for tool in tools}
        unknown = [c.name for c in turn.tool_calls if known and c.name not in known]
        if unknown:
            return ParseResult(turn, ParseFailure.UNKNOWN_TOOL, f"no tool named {unknown[0]!r}")
        return ParseResult(turn)
