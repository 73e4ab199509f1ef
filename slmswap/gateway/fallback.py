"""Whether the small model's answer is a valid answer to the request; when it is not, the LLM answers instead
and the reason is stored as the row's ``fallback_reason``.

Reasons: ``timeout`` (no whole answer within the small model's timeout), ``error`` (no HTTP answer, or one that
is not a 200), ``malformed`` (a body the codec cannot read, or an empty answer), ``unknown_tool`` (a call of a
tool the request did not offer), ``invalid_arguments`` (arguments that break the tool's schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slmswap.data.openai import parse_openai_answer, parse_openai_tools
from slmswap.errors import DataError
from slmswap.formats import ParseFailure, check_calls
from slmswap.gateway.modes import SlmAnswer
from slmswap.schema import Message

__all__ = ["REASONS", "Invalid", "Reason", "invalid"]

Reason = Literal["timeout", "error", "malformed", "unknown_tool", "invalid_arguments"]
REASONS: tuple[Reason, ...] = ("timeout", "error", "malformed", "unknown_tool", "invalid_arguments")
"""Every fallback reason."""


@dataclass(frozen=True)
class Invalid:
    """Why an answer of the small model is not valid: the reason, and what exactly was wrong."""

    reason: Reason
    detail: str


def invalid(slm: SlmAnswer, body: Mapping[str, Any]) -> Invalid | None:
    """Why ``slm`` is no valid answer to the request ``body`` (``None``: it is one)."""
    if slm.timed_out:
        return Invalid("timeout", slm.error or "no answer in time")
    if slm.status != 200:
        return Invalid("error", slm.error or f"HTTP {slm.status}")
    if slm.error is not None:  # a 200 whose body is no JSON answer
        return Invalid("malformed", slm.error)
    try:
        answer = parse_openai_answer(slm.answer)
    except DataError as exc:
        return Invalid("malformed", str(exc))
    if not answer.content and not answer.tool_calls:
        return Invalid("malformed", "the answer is empty: no content and no tool calls")
    if not answer.tool_calls:
        return None
    try:
        tools = parse_openai_tools(body.get("tools") or [], "tools")
    except DataError:  # tools the small model cannot have been offered either
        tools = []
    if not tools:
        return Invalid("unknown_tool", f"a call of {answer.tool_calls[0].name!r}, and the request offered no tools")
    checked = check_calls(Message.assistant(tool_calls=answer.tool_calls), tools)
    if checked.failure is ParseFailure.UNKNOWN_TOOL:
        return Invalid("unknown_tool", checked.detail)
    if checked.failure is not None:
        return Invalid("invalid_arguments", checked.detail)
    return None
