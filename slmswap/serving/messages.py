"""A conversation as an application sends it to an OpenAI-compatible server: ``messages`` (assistant
``tool_calls`` with JSON-string arguments, ``tool`` results) and ``tools``."""

from __future__ import annotations

import json
from typing import Any

from slmswap.schema import Conversation, Message

__all__ = ["openai_message", "openai_request"]


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
    """The ``messages`` and ``tools`` (``None`` when there are none) of ``conversation``."""
    messages = [openai_message(m, string_arguments=string_arguments) for m in conversation.messages]
    return messages, [tool.to_openai() for tool in conversation.tools] or None
