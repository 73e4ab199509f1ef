"""OpenAI's Chat Completions wire shape and :class:`~slmswap.schema.Conversation`: the one codec.

Every piece of slmswap that meets OpenAI's shape uses this module: the loader of OpenAI chat rows
(``{"messages": [...], "tools": [...]}``), the API backend, serving and the gateway.

Reading (wire to typed): assistant ``tool_calls`` may be in the API's wrapped form (``{"type": "function",
"function": {"name", "arguments"}}``) or flat (``{"name", "arguments"}``); ``arguments`` given as a JSON string
become a dict. Content given as a list of ``{"type": "text", "text": ...}`` parts is joined. The legacy
``function`` role is read as ``tool``. An answer (``choices[0].message``, ``finish_reason``, ``usage``) is read by
:func:`parse_openai_answer`.

Writing (typed to wire): :func:`openai_message` and :func:`openai_request` give a conversation as an application
sends it (``tool_calls`` with JSON-string arguments, ``tool`` results, ``tools``); :func:`api_message` puts a
format's chat message (object arguments, as ``apply_chat_template`` takes them) into the API's shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmswap._json import valid_text
from slmswap.data._result import LoadResult, OnError, as_data_error, build_conversation, load_rows, require
from slmswap.data._source import RowSource, iter_rows
from slmswap.errors import DataError
from slmswap.schema import Conversation, Message, Tool, ToolCall

__all__ = [
    "OpenAIAnswer",
    "api_message",
    "load_openai",
    "openai_message",
    "openai_request",
    "parse_openai_answer",
    "parse_openai_message",
    "parse_openai_row",
    "parse_openai_tools",
]


def load_openai(source: RowSource, *, on_error: OnError = "raise") -> LoadResult:
    """Load OpenAI chat rows from a JSON/JSONL path, an iterable of dicts or a ``datasets.Dataset``."""
    return load_rows(iter_rows(source), parse_openai_row, on_error=on_error)


def parse_openai_row(row: Mapping[str, Any]) -> Conversation:
    """One OpenAI chat row as a :class:`~slmswap.schema.Conversation`."""
    raw_messages = require(row, "messages", list)
    messages = [parse_openai_message(raw, f"messages[{i}]") for i, raw in enumerate(raw_messages)]
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


def parse_openai_message(raw: object, field: str) -> Message:
    """One Chat Completions message as a :class:`~slmswap.schema.Message`; a :class:`DataError` on ``field``
    (e.g. ``messages[2]``) when it is not one."""
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
        return ToolCall(name=function.get("name", ""), arguments=function.get("arguments") or {}, id=raw.get("id"))


@dataclass(frozen=True)
class OpenAIAnswer:
    """What an OpenAI-compatible server answered: the first choice's message, why it stopped, its usage."""

    content: str
    """The message's text (``""`` when there is none); a lone surrogate is replaced, so it is valid UTF-8."""
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    completion_tokens: int | None
    prompt_tokens: int | None


def parse_openai_answer(answer: object) -> OpenAIAnswer:
    """A Chat Completions response body (parsed JSON) as an :class:`OpenAIAnswer`.

    A malformed answer (no ``choices[0].message``, ``tool_calls`` that is not a list, a call without a name or
    with arguments that are not a JSON object) is a :class:`DataError` naming the field.
    """
    try:
        choice = answer["choices"][0]  # type: ignore[index]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise DataError(f"the answer has no message: {str(answer)[:200]}", field="choices[0].message") from None
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise DataError(f"a {type(raw_calls).__name__}, not a list", field="choices[0].message.tool_calls")
    calls = []
    for k, call in enumerate(raw_calls):
        field = f"choices[0].message.tool_calls[{k}]"
        try:
            calls.append(_call(call, field))
        except RecursionError:
            raise DataError("arguments nested beyond limits", field=field) from None
    usage = answer.get("usage") if isinstance(answer, dict) else None
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    reason = choice.get("finish_reason") if isinstance(choice, dict) else None
    return OpenAIAnswer(
        content=valid_text(text),  # a lone surrogate (valid JSON) is no text
        tool_calls=tuple(calls),
        finish_reason=reason if isinstance(reason, str) else None,
        completion_tokens=_count(usage, "completion_tokens"),
        prompt_tokens=_count(usage, "prompt_tokens"),
    )


def _count(usage: object, key: str) -> int | None:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def openai_message(message: Message, *, string_arguments: bool = True) -> dict[str, Any]:
    """One message in the Chat Completions shape (``string_arguments=False``: arguments as objects, as
    ``apply_chat_template`` users pass them)."""
    entry: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        entry["tool_calls"] = [
            {
                "id": call.id or f"call_{k}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(call.arguments, ensure_ascii=False) if string_arguments else call.arguments,
                },
            }
            for k, call in enumerate(message.tool_calls)
        ]
    if message.tool_call_id is not None:
        entry["tool_call_id"] = message.tool_call_id
    if message.name is not None and message.role == "tool":
        entry["name"] = message.name
    return entry


def openai_request(
    conversation: Conversation, *, string_arguments: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The ``messages`` and ``tools`` (``None`` when there are none) of ``conversation``, as an application sends
    them."""
    messages = [openai_message(m, string_arguments=string_arguments) for m in conversation.messages]
    return messages, [tool.to_openai() for tool in conversation.tools] or None


def api_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A format's chat message (``tool_calls`` with object arguments, ``None`` fields) in the API's shape:
    arguments as JSON strings, ``None`` fields left out."""
    out = {k: v for k, v in message.items() if v is not None}
    if "tool_calls" in out:
        out["tool_calls"] = [
            {
                "id": call.get("id") or f"call_{k}",
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": json.dumps(call["function"]["arguments"])},
            }
            for k, call in enumerate(out["tool_calls"])
        ]
    return out
