"""ShareGPT rows: ``{"conversations": [{"from": ..., "value": ...}], "tools": ...}``.

Speakers map to roles: ``system`` → system, ``human``/``user`` → user, ``gpt``/``assistant`` → assistant,
``tool``/``observation`` → tool, and ``function_call`` → an assistant turn whose value is a JSON call
``{"name", "arguments"}`` (or a list of them), as LLaMA-Factory writes them. ``tools`` may be a list or a JSON
string holding one; a top-level ``system`` string is used when the turns have no system message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmswap.data._result import (
    LoadResult,
    OnError,
    as_data_error,
    build_conversation,
    decode_json,
    load_rows,
    require,
)
from slmswap.data._source import RowSource, iter_rows
from slmswap.data.openai import parse_openai_tools
from slmswap.errors import DataError
from slmswap.schema import Conversation, Message, Role, ToolCall

__all__ = ["SPEAKERS", "load_sharegpt", "parse_sharegpt_row"]

SPEAKERS: dict[str, Role] = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function_call": "assistant",
}
"""ShareGPT speaker names and the role each becomes."""


def load_sharegpt(source: RowSource, *, on_error: OnError = "raise") -> LoadResult:
    """Load ShareGPT rows from a JSON/JSONL path, an iterable of dicts or a ``datasets.Dataset``."""
    return load_rows(iter_rows(source), parse_sharegpt_row, on_error=on_error)


def parse_sharegpt_row(row: Mapping[str, Any]) -> Conversation:
    """One ShareGPT row as a :class:`~slmswap.schema.Conversation`."""
    turns = require(row, "conversations", list)
    messages: list[Message] = []
    origins: list[str] = []
    system = row.get("system")
    if isinstance(system, str) and system and not (turns and _speaker(turns[0], "conversations[0]") == "system"):
        messages.append(Message.system(system))
        origins.append("system")
    for i, turn in enumerate(turns):
        field = f"conversations[{i}]"
        messages.append(_message(turn, field))
        origins.append(field)
    tools = row.get("tools") or []
    if isinstance(tools, str):
        tools = decode_json(tools, "tools")
    row_id = row.get("id")
    return build_conversation(
        messages,
        origins,
        tools=parse_openai_tools(tools, "tools"),
        row_id=None if row_id is None else str(row_id),
    )


def _speaker(turn: object, field: str) -> str:
    if not isinstance(turn, Mapping):
        raise DataError(f"expected an object, got {type(turn).__name__}", field=field)
    speaker: str = require(turn, "from", str, prefix=f"{field}.")
    if speaker not in SPEAKERS:
        raise DataError(
            f"unknown speaker {speaker!r}; expected one of {', '.join(SPEAKERS)}",
            field=f"{field}.from",
        )
    return speaker


def _message(turn: object, field: str) -> Message:
    speaker = _speaker(turn, field)
    assert isinstance(turn, Mapping)
    value: str = require(turn, "value", str, prefix=f"{field}.")
    if speaker == "function_call":
        return Message.assistant(tool_calls=_calls(decode_json(value, f"{field}.value"), f"{field}.value"))
    with as_data_error(field):
        return Message(role=SPEAKERS[speaker], content=value)


def _calls(decoded: object, field: str) -> list[ToolCall]:
    items = decoded if isinstance(decoded, list) else [decoded]
    calls = []
    for k, item in enumerate(items):
        where = f"{field}[{k}]" if isinstance(decoded, list) else field
        if not isinstance(item, Mapping):
            raise DataError(f"a call must be an object, got {type(item).__name__}", field=where)
        with as_data_error(where):
            calls.append(ToolCall(name=item.get("name", ""), arguments=item.get("arguments", {})))
    return calls
