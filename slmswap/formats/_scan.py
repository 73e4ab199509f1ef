"""JSON-aware reading of ``<tool_call ...>BODY</tool_call>`` blocks, shared by the tag-based formats.

A body is decoded as JSON *before* the closing tag is looked for, so argument strings that contain
``</tool_call>``, quotes or braces survive. Lenient mode forgives markdown fences, text around the calls, a
missing closing tag at the very end, and Python-literal bodies (single quotes), and says which it forgave.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from slmswap.errors import DataError
from slmswap.formats.base import ParseFailure, ParseResult
from slmswap.schema import Message, Tool, ToolCall
from slmswap.validation import first_error

__all__ = [
    "CallReader",
    "ParseStopError",
    "TagBlock",
    "as_arguments",
    "check_calls",
    "decode_json_value",
    "dumps",
    "make_call",
    "parse_tagged",
    "strip_fences",
    "without_reasoning",
]

_OPEN = re.compile(r"<tool_call(?P<attrs>(?:\s+[A-Za-z_][\w.-]*\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(?P<close>/?)>")
_ATTR = re.compile(r"([A-Za-z_][\w.-]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CLOSE = "</tool_call>"
_FENCE = re.compile(r"^[ \t]*```[\w+-]*[ \t]*$\n?", re.MULTILINE)
_DECODER = json.JSONDecoder()


class ParseStopError(Exception):
    """Raised inside a reader to stop with a typed failure."""

    def __init__(self, failure: ParseFailure, detail: str, span: tuple[int, int] | None = None) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail
        self.span = span


@dataclass
class TagBlock:
    """One ``<tool_call>`` block: its attributes, its decoded body and where it lies."""

    attrs: dict[str, str]
    body: Any
    start: int
    end: int
    self_closing: bool = False


CallReader = Callable[[TagBlock, bool, list[str]], ToolCall]
"""Turns a block into a call (``strict``, and a list to append forgiven fixes to), or raises :class:`ParseStopError`."""


def without_reasoning(text: str) -> str:
    """``text`` without a leading ``<think>...</think>`` block: reasoning, which templates such as Qwen 3's write
    ahead of the answer, is not part of the turn. (When a generation prompt opens the block itself, put the
    opening tag back in front of the output before parsing.)"""
    stripped = text.lstrip()
    if stripped.startswith("<think>"):
        end = stripped.find("</think>")
        if end >= 0:
            return stripped[end + len("</think>") :].lstrip()
    return text


def strip_fences(text: str, forgiven: list[str]) -> str:
    """``text`` without markdown code-fence lines (noting it in ``forgiven``)."""
    cleaned = _FENCE.sub("", text)
    if cleaned != text:
        forgiven.append("markdown_fence")
    return cleaned


def decode_json_value(text: str, pos: int, *, lenient: bool, stop: int, forgiven: list[str]) -> tuple[Any, int]:
    """Decode the JSON value at ``pos`` (lenient: a Python literal up to ``stop`` too); return it and its end."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        error = exc
    except (ValueError, RecursionError) as exc:  # numbers past Python's digit limit, absurd nesting
        raise ParseStopError(ParseFailure.INVALID_JSON, f"JSON beyond limits: {exc}"[:200], (pos, stop)) from None
    if lenient:
        try:
            value = ast.literal_eval(text[pos:stop].strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
        else:
            forgiven.append("python_literal")
            return value, stop
    raise ParseStopError(
        ParseFailure.INVALID_JSON, f"invalid JSON: {error.msg}", (pos, min(stop, max(error.pos, pos) + 1))
    )


def _block(text: str, match: re.Match[str], *, lenient: bool, forgiven: list[str]) -> TagBlock:
    attrs = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(match["attrs"])}
    if match["close"]:
        return TagBlock(attrs, None, match.start(), match.end(), self_closing=True)
    close = text.find(_CLOSE, match.end())
    stop = close if close >= 0 else len(text)
    pos = match.end()
    while pos < stop and text[pos].isspace():
        pos += 1
    if pos == stop:
        raise ParseStopError(ParseFailure.MALFORMED_CALL, "empty <tool_call> body", (match.start(), stop))
    body, end = decode_json_value(text, pos, lenient=lenient, stop=stop, forgiven=forgiven)
    while end < len(text) and text[end].isspace():
        end += 1
    if text.startswith(_CLOSE, end):
        return TagBlock(attrs, body, match.start(), end + len(_CLOSE))
    if lenient and not text[end:].strip():
        forgiven.append("unclosed_tag")
        return TagBlock(attrs, body, match.start(), len(text))
    raise ParseStopError(ParseFailure.MALFORMED_CALL, "expected </tool_call> after the call body", (match.start(), end))


def parse_tagged(
    text: str,
    read_call: CallReader,
    *,
    strict: bool,
    tools: Sequence[Tool],
    bare_call: Callable[[Any], bool],
) -> ParseResult:
    """Parse optional leading content followed by ``<tool_call>`` blocks, each turned into a call by ``read_call``.

    ``bare_call`` tells whether a JSON value found with no tags around it looks like a call (lenient mode then
    reads it as one; strict mode reports ``no_tool_call``).
    """
    forgiven: list[str] = []
    text = without_reasoning(text)
    try:
        if not strict:
            text = strip_fences(text, forgiven)
        if not text.strip():
            raise ParseStopError(ParseFailure.EMPTY, "the output is empty", (0, len(text)))
        matches = list(_OPEN.finditer(text))
        if not matches:
            return _untagged(text, read_call, strict=strict, tools=tools, bare_call=bare_call, forgiven=forgiven)
        calls: list[ToolCall] = []
        cursor = matches[0].start()
        content = text[:cursor].strip() or None
        while True:
            match = _OPEN.search(text, cursor)
            if match is None:
                break
            gap = text[cursor : match.start()]
            if gap.strip():
                _extra(strict, forgiven, "text_between_calls", (cursor, match.start()))
            block = _block(text, match, lenient=not strict, forgiven=forgiven)
            calls.append(read_call(block, strict, forgiven))
            cursor = block.end
        if text[cursor:].strip():
            _extra(strict, forgiven, "trailing_text", (cursor, len(text)))
    except ParseStopError as failed:
        return ParseResult(None, failed.failure, failed.detail, failed.span, tuple(forgiven))
    turn = Message.assistant(content=content, tool_calls=calls)
    return check_calls(turn, tools, tuple(forgiven))


def _extra(strict: bool, forgiven: list[str], what: str, span: tuple[int, int]) -> None:
    if strict:
        raise ParseStopError(ParseFailure.EXTRA_TEXT, f"text outside the tool calls ({what.replace('_', ' ')})", span)
    forgiven.append(what)


def _untagged(
    text: str,
    read_call: CallReader,
    *,
    strict: bool,
    tools: Sequence[Tool],
    bare_call: Callable[[Any], bool],
    forgiven: list[str],
) -> ParseResult:
    start = text.find("{")
    if start >= 0:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            value, end = None, start
        if bare_call(value):
            if strict:
                return ParseResult(
                    None, ParseFailure.NO_TOOL_CALL, "a call without <tool_call> tags", (start, end), tuple(forgiven)
                )
            forgiven.append("missing_tags")
            if text[:start].strip() or text[end:].strip():
                forgiven.append("surrounding_text")
            try:
                call = read_call(TagBlock({}, value, start, end), strict, forgiven)
            except ParseStopError as failed:
                return ParseResult(None, failed.failure, failed.detail, failed.span, tuple(forgiven))
            return check_calls(Message.assistant(tool_calls=[call]), tools, tuple(forgiven))
    return ParseResult(Message.assistant(content=text.strip()), forgiven=tuple(forgiven))


def check_calls(turn: Message, tools: Sequence[Tool], forgiven: tuple[str, ...] = ()) -> ParseResult:
    """``turn`` checked against the offered ``tools``: unknown names and schema-breaking arguments fail."""
    if tools:
        by_name = {tool.name: tool for tool in tools}
        for call in turn.tool_calls:
            tool = by_name.get(call.name)
            if tool is None:
                return ParseResult(turn, ParseFailure.UNKNOWN_TOOL, f"no tool named {call.name!r}", forgiven=forgiven)
            error = first_error(tool.parameters, call.arguments)
            if error is not None:
                where, _, message = error.partition(": ")
                where = "<arguments>" if where == "<root>" else where
                detail = f"arguments of {call.name!r} break its schema at {where}: {message}"
                return ParseResult(turn, ParseFailure.BAD_ARGUMENTS, detail, forgiven=forgiven)
    return ParseResult(turn, forgiven=forgiven)


def as_arguments(value: Any, *, strict: bool, forgiven: list[str], span: tuple[int, int]) -> dict[str, Any]:
    """A call's arguments: a JSON object, or (lenient) a JSON string holding one."""
    if isinstance(value, str) and not strict:
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            pass
        else:
            forgiven.append("arguments_as_string")
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ParseStopError(
            ParseFailure.BAD_ARGUMENTS, f"arguments must be a JSON object, got {type(value).__name__}", span
        )
    return value


def dumps(value: Any) -> str:
    """Compact-but-readable JSON as every format writes it (non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False)


def make_call(name: object, arguments: dict[str, Any], span: tuple[int, int]) -> ToolCall:
    """A :class:`ToolCall`, or :class:`ParseStopError` when the name or argument values are not valid."""
    if not isinstance(name, str) or not name:
        raise ParseStopError(
            ParseFailure.MALFORMED_CALL, f"a call needs a non-empty string name, got {name!r:.40}", span
        )
    try:
        return ToolCall(name=name, arguments=arguments)
    except ValidationError as exc:
        raise ParseStopError(
            ParseFailure.BAD_ARGUMENTS, f"arguments are not JSON values: {exc.errors()[0]['msg']}", span
        ) from None
    except DataError as exc:  # a JSON escape such as \ud800 decoded to a lone surrogate: not text
        failure = ParseFailure.MALFORMED_CALL if exc.field == "name" else ParseFailure.BAD_ARGUMENTS
        raise ParseStopError(failure, f"{exc.field}: {exc.message}", span) from None
