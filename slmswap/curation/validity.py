"""Validity: which answers are not worth learning from, and why.

Each check is a small named predicate returning a finding (a :class:`~slmswap.curation.example.DropReason` with
a detail) or ``None``; :func:`check_example` applies them in order and returns the first finding. Upstream
errors, truncations (``finish_reason: length``), malformed and empty answers, calls of tools the request did
not offer, arguments that break the offered tool's schema (:func:`slmswap.validation.first_error`, offline and
bounded), and control-token text in the conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slmswap.curation.example import DropReason, Example
from slmswap.schema import Conversation
from slmswap.templates.spans import control_token_text
from slmswap.validation import first_error

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["Finding", "check_example", "full_conversation"]


@dataclass(frozen=True)
class Finding:
    """Why an example is dropped."""

    reason: DropReason
    detail: str


Check = Callable[[Example], "Finding | None"]


def upstream_error(example: Example) -> Finding | None:
    """The server answered with an error."""
    error = example.answer.error
    return Finding(DropReason.UPSTREAM_ERROR, error[:300]) if error is not None else None


def truncated(example: Example) -> Finding | None:
    """The answer stopped at the token limit."""
    if example.answer.finish_reason == "length":
        return Finding(DropReason.TRUNCATED, "finish_reason: length (cut off at the token limit)")
    return None


def malformed(example: Example) -> Finding | None:
    """The answer could not be read as an assistant turn."""
    problem = example.answer.malformed
    return Finding(DropReason.MALFORMED_ANSWER, problem[:300]) if problem is not None else None


def empty(example: Example) -> Finding | None:
    """The answer has neither text nor calls."""
    return Finding(DropReason.EMPTY_ANSWER, "no text and no calls") if example.answer.message is None else None


def unknown_tool(example: Example) -> Finding | None:
    """A call names a tool the request did not offer (also when it offered none)."""
    message = example.answer.message
    offered = example.request.tools_by_name
    for call in message.tool_calls if message is not None else ():
        if call.name not in offered:
            listed = ", ".join(sorted(offered)) or "none"
            return Finding(DropReason.UNKNOWN_TOOL, f"call of {call.name!r}; offered: {listed}")
    return None


def invalid_arguments(example: Example) -> Finding | None:
    """A call's arguments break the offered tool's parameter schema."""
    message = example.answer.message
    offered = example.request.tools_by_name
    for call in message.tool_calls if message is not None else ():
        problem = first_error(offered[call.name].parameters, call.arguments)
        if problem is not None:
            return Finding(DropReason.INVALID_ARGUMENTS, f"{call.name}: {problem}"[:300])
    return None


def control_token(tokenizer: PreTrainedTokenizerBase | None) -> Check:
    """The check that the conversation (request, tools and answer) holds none of ``tokenizer``'s special tokens'
    text (:func:`~slmswap.templates.spans.control_token_text`); with no tokenizer it checks nothing."""

    def check(example: Example) -> Finding | None:
        if tokenizer is None or example.answer.message is None:
            return None
        where = control_token_text(tokenizer, full_conversation(example))
        return Finding(DropReason.CONTROL_TOKEN_TEXT, where) if where is not None else None

    return check


def check_example(example: Example, *, tokenizer: PreTrainedTokenizerBase | None = None) -> Finding | None:
    """The first reason to drop ``example`` (in the order of the module docstring), or ``None`` when it is valid."""
    checks: tuple[Check, ...] = (
        upstream_error,
        truncated,
        malformed,
        empty,
        unknown_tool,
        invalid_arguments,
        control_token(tokenizer),
    )
    for check in checks:
        finding = check(example)
        if finding is not None:
            return finding
    return None


def full_conversation(example: Example) -> Conversation:
    """The request with its answer appended (for a valid example: the row written to a split)."""
    message = example.answer.message
    if message is None:
        raise ValueError(f"example {example.id!r} has no answer")
    request = example.request
    return Conversation(messages=(*request.messages, message), tools=request.tools, id=example.id)
