"""Validity: which answers are not worth learning from, and why.

Each check is a small named predicate returning a finding (a :class:`~slmswap.curation.example.DropReason` with
a detail) or ``None``; :func:`check_example` applies them in order and returns the first finding. Upstream
errors, truncations (``finish_reason: length``), malformed and empty answers, calls of tools the request did
not offer, arguments that break the offered tool's schema (:func:`slmswap.validation.first_error`, offline and
bounded), and control-token text in the conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slmswap.curation._memo import PerTools
from slmswap.curation.example import DropReason, Example
from slmswap.schema import Conversation, Message, Tool
from slmswap.templates.spans import control_token_text
from slmswap.validation import first_error

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["Check", "Finding", "check_example", "full_conversation", "validity_checks"]


@dataclass(frozen=True)
class Finding:
    """Why an example is dropped."""

    reason: DropReason
    detail: str


Check = Callable[[Example], "Finding | None"]
"""A validity check: a finding, or ``None`` when the example passes it."""


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
    text (:func:`~slmswap.templates.spans.control_token_text`); with no tokenizer it checks nothing. A tool list
    many requests share is checked once."""

    if tokenizer is None:
        return lambda example: None
    special: PreTrainedTokenizerBase = tokenizer

    def tools_text(tools: tuple[Tool, ...]) -> str | None:
        return control_token_text(special, Conversation(messages=(Message.user(""),), tools=tools))

    in_tools = PerTools(tools_text)

    def check(example: Example) -> Finding | None:
        if example.answer.message is None:
            return None
        where = in_tools(example.request.tools) or control_token_text(special, full_conversation(example, tools=False))
        return Finding(DropReason.CONTROL_TOKEN_TEXT, where) if where is not None else None

    return check


def validity_checks(tokenizer: PreTrainedTokenizerBase | None = None) -> tuple[Check, ...]:
    """The checks, in the order of the module docstring (the control-token one for ``tokenizer``'s tokens)."""
    return (upstream_error, truncated, malformed, empty, unknown_tool, invalid_arguments, control_token(tokenizer))


def check_example(example: Example, checks: Sequence[Check]) -> Finding | None:
    """The first of ``checks`` (:func:`validity_checks`) that finds a reason to drop ``example``, or ``None``."""
    for check in checks:
        finding = check(example)
        if finding is not None:
            return finding
    return None


def full_conversation(example: Example, *, tools: bool = True) -> Conversation:
    """The request with its answer appended (for a valid example: the row written to a split); without the
    tools when ``tools`` is false."""
    message = example.answer.message
    if message is None:
        raise ValueError(f"example {example.id!r} has no answer")
    request = example.request
    return Conversation(messages=(*request.messages, message), tools=request.tools if tools else (), id=example.id)
