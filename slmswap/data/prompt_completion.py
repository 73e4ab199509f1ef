"""Prompt/completion rows: ``{"prompt": ..., "completion": ...}`` (optionally ``"system"``).

``prompt`` and ``completion`` are either strings (a user turn and an assistant turn) or, as in TRL's
conversational prompt-completion datasets, lists of OpenAI-style messages. Tool calls written as text inside
a completion (e.g. ``<tool_call name="fn">{...}</tool_call>``) are kept as text here; parse them into typed
calls with a chat format (``ChatFormat.parse``) when the format is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmswap.data._result import LoadResult, OnError, as_data_error, build_conversation, load_rows, require
from slmswap.data._source import RowSource, iter_rows
from slmswap.data.openai import parse_openai_row
from slmswap.schema import Conversation, Message

__all__ = ["load_prompt_completion", "parse_prompt_completion_row"]


def load_prompt_completion(source: RowSource, *, on_error: OnError = "raise") -> LoadResult:
    """Load prompt/completion rows from a JSON/JSONL path, an iterable of dicts or a ``datasets.Dataset``."""
    return load_rows(iter_rows(source), parse_prompt_completion_row, on_error=on_error)


def parse_prompt_completion_row(row: Mapping[str, Any]) -> Conversation:
    """One prompt/completion row as a conversation."""
    prompt = require(row, "prompt", (str, list))
    completion = require(row, "completion", (str, list))
    if isinstance(prompt, list) or isinstance(completion, list):
        as_list = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        as_list += [{"role": "assistant", "content": completion}] if isinstance(completion, str) else completion
        return parse_openai_row({"messages": as_list, "tools": row.get("tools") or [], "id": row.get("id")})
    messages: list[Message] = []
    origins: list[str] = []
    system = row.get("system")
    if system is not None:
        with as_data_error("system"):
            messages.append(Message(role="system", content=system))
        origins.append("system")
    with as_data_error("prompt"):
        messages.append(Message(role="user", content=prompt))
    origins.append("prompt")
    with as_data_error("completion"):
        messages.append(Message(role="assistant", content=completion))
    origins.append("completion")
    row_id = row.get("id")
    return build_conversation(messages, origins, row_id=None if row_id is None else str(row_id))
