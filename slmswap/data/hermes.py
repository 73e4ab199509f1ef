"""Hermes function-calling rows (NousResearch ``hermes-function-calling-v1`` and data in its shape).

Rows are ShareGPT-like ``conversations``: a system turn listing the tools inside ``<tools></tools>`` (a JSON
list, JSON objects one per line, or the Python-literal form the published dataset uses), ``human`` turns,
``gpt`` turns holding ``<tool_call>`` blocks (read with the Hermes format's lenient parser), and ``tool`` turns
holding ``<tool_response>`` blocks. The Hermes system prompt is dropped (the ``hermes`` format writes its own
from the tools when rendering) and kept in ``metadata["hermes_system"]``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from slmswap.data._result import LoadResult, OnError, as_data_error, build_conversation, load_rows, require
from slmswap.data._source import RowSource, iter_rows
from slmswap.data.openai import parse_openai_tools
from slmswap.data.sharegpt import SPEAKERS
from slmswap.errors import DataError
from slmswap.formats.hermes import HermesFormat
from slmswap.schema import Conversation, JsonObject, Message

__all__ = ["load_hermes", "parse_hermes_row"]

_TOOLS = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_RESPONSE = re.compile(r"^\s*<tool_response>(.*?)</tool_response>\s*$", re.DOTALL)
_FORMAT = HermesFormat()


def load_hermes(source: RowSource, *, on_error: OnError = "raise") -> LoadResult:
    """Load Hermes function-calling rows from a JSON/JSONL path, an iterable of dicts or a ``datasets.Dataset``."""
    return load_rows(iter_rows(source), parse_hermes_row, on_error=on_error)


def parse_hermes_row(row: Mapping[str, Any]) -> Conversation:
    """One Hermes row as a conversation with typed tools and tool calls."""
    turns = require(row, "conversations", list)
    messages: list[Message] = []
    origins: list[str] = []
    tools: list[Any] = []
    metadata: JsonObject = {}
    for i, turn in enumerate(turns):
        field = f"conversations[{i}]"
        if not isinstance(turn, Mapping):
            raise DataError(f"expected an object, got {type(turn).__name__}", field=field)
        speaker = require(turn, "from", str, prefix=f"{field}.")
        value = require(turn, "value", str, prefix=f"{field}.")
        role = SPEAKERS.get(speaker)
        if role is None or speaker == "function_call":
            raise DataError(f"unknown speaker {speaker!r}; expected system, human, gpt or tool", field=f"{field}.from")
        # The instructions mention "<tools> </tools>" before the real block: take the longest one.
        blocks = _TOOLS.findall(value) if role == "system" else []
        if blocks:
            tools = _tool_list(max(blocks, key=len), f"{field}.value")
            metadata["hermes_system"] = value
            continue
        messages.append(_message(role, value, field))
        origins.append(field)
    row_id = row.get("id")
    return build_conversation(
        messages,
        origins,
        tools=parse_openai_tools(tools, "conversations[0].value<tools>"),
        row_id=None if row_id is None else str(row_id),
        metadata=metadata,
    )


_UNREADABLE = object()


def _json_or_literal(text: str) -> Any:
    """``text`` decoded as JSON, else as a Python literal (the published dataset's form), else ``_UNREADABLE``."""
    for decode in (json.loads, ast.literal_eval):
        try:
            return decode(text)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            continue
    return _UNREADABLE


def _tool_list(text: str, field: str) -> list[Any]:
    text = text.strip()
    value = _json_or_literal(text)
    if value is not _UNREADABLE:
        return value if isinstance(value, list) else [value]
    try:  # one JSON object per line
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise DataError(f"the <tools> block is neither JSON nor a Python literal: {exc}", field=field) from exc


def _message(role: str, value: str, field: str) -> Message:
    if role == "assistant":
        result = _FORMAT.parse(value, strict=False)
        if not result.ok or result.turn is None:
            raise DataError(
                f"cannot read the assistant turn: {result.failure} ({result.detail})", field=f"{field}.value"
            )
        return result.turn
    if role == "tool":
        return _tool_result(value, field)
    with as_data_error(field):
        return Message.model_validate({"role": role, "content": value})


def _tool_result(value: str, field: str) -> Message:
    match = _RESPONSE.match(value)
    inner = match.group(1).strip() if match else value.strip()
    decoded = _json_or_literal(inner)
    if isinstance(decoded, dict) and set(decoded) == {"name", "content"} and isinstance(decoded["name"], str):
        content = decoded["content"]
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return Message.tool(text, name=decoded["name"])
    return Message.tool(inner)
