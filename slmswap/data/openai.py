"""OpenAI chat rows: ``{"messages": [...], "tools": [...]}``.

Assistant ``tool_calls`` may be in the API's wrapped form (``{"type": "function", "function": {"name",
"arguments"}}``) or flat (``{"name", "arguments"}``); ``arguments`` given as a JSON string become a dict.
Content given as a list of ``{"type": "text", "text": ...}`` parts is joined. The legacy ``function`` role is
read as ``tool``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmswap.data._result import LoadResult, OnError, as_data_error, build_conversation, load_rows, require
from slmswap.data._source import RowSource, iter_rows
from slmswap.errors import DataError
from slmswap.schema import Conversation, Message, Tool, ToolCall

__all__ = ["load_openai", "parse_openai_row", "parse_openai_tools"]


def load_openai(source: RowSource, *, on_error: OnError = "raise") -> LoadResult:
    """Load OpenAI chat rows from a JSON/JSONL path, an iterable of dicts or a ``datasets.Dataset``."""
    return load_rows(iter_rows(source), parse_openai_row, on_error=on_error)


def parse_openai_row(row: Mapping[str, Any]) -> Conversation:
    """One OpenAI chat row as a :class:`~slmswap.schema.Conversation`."""
    raw_messages = require(row, "messages", list)
    messages = [_message(raw, f"messages[{i}]") for i, raw in enumerate(raw_messages)]
    tools = parse_openai_tools(row.get("tools") or [], "tools")
    row_id = row.get("id")
    return build_conversation(
        messages,
        [f"messages[{i}]" for i in range(len(messages))],
        tools=tools,
        row_id=None if row_id is None else str(row_id),
    )


def parse_openai_tools(raw_tools: object, field: str) -> list[Tool]:
    """A list of tool specs (wrapped or bare) as :class:`~slmswap.schema.Tool` objects."""
    if not isinstance(raw_tools, list):
        raise DataError(f"expected a list of tools, got {type(raw_tools).__name__}", field=field)
    tools = []
    for i, raw in enumerate(raw_tools):
        with as_data_error(f"{field}[{i}]"):
            tools.append(Tool.model_validate(raw))
    return tools


def _message(raw: object, field: str) -> Message:
    if not isinstance(raw, Mapping):
        raise DataError(f"expected an object, got {type(raw).__name__}", field=field)
    role = require(raw, "role", str, prefix=f"{field}.")
    calls = [_call(c, f"{field}.tool_calls[{j}]") for j, c in enumerate(raw.get("tool_calls") or [])]
    with as_data_error(field):
        return Message(
            role="tool" if role == "function" else role,
            content=_text(raw.get("content"), f"{field}.content"),
            tool_calls=tuple(calls),
            tool_call_id=raw.get("tool_call_id"),
            name=raw.get("name") if role in ("tool", "function") else None,
            weight=raw.get("weight") if role == "assistant" else None,
        )


def _text(content: object, field: str) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            if not (isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                raise DataError("only text content parts are supported", field=f"{field}[{k}]")
            texts.append(part["text"])
        return "".join(texts)
    raise DataError(f"content must be a string or a list of text parts, got {type(content).__name__}", field=field)


def _call(raw: object, field: str) -> ToolCall:
    if not isinstance(raw, Mapping):
        raise DataError(f"expected an object, got {type(raw).__name__}", field=field)
    function = raw.get("function", raw)
    if not isinstance(function, Mapping):
        raise DataError("expected an object", field=f"{field}.function")
    inner = f"{field}.function" if "function" in raw else field
    with as_data_error(inner):
        return ToolCall(name=function.get("name", ""), arguments=function.get("arguments", {}), id=raw.get("id"))
