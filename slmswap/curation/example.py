"""What curation works on: a request, the answer(s) an LLM gave it, and why an example is dropped.

Every source (data files, evaluation run directories, the gateway's traffic store) is read into
:class:`Example`\\ s, so the later steps (validity, duplicates, near-duplicates, the split) never care where an
example came from. An :class:`Answer` carries what only live traffic knows (an upstream error, a
``finish_reason``) next to the assistant turn itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from slmswap.schema import Conversation, Message

__all__ = ["Answer", "DropReason", "Example", "Unreadable"]


class DropReason(str, enum.Enum):
    """Why an example is left out of both splits (each is counted, and each dropped id listed, in
    ``curation.json``)."""

    UNREADABLE = "unreadable"
    """The row could not be read as a conversation (bad JSON, a field of the wrong type)."""
    UPSTREAM_ERROR = "upstream_error"
    """The LLM's server answered with an error (or not at all): there is no answer to learn from."""
    TRUNCATED = "truncated"
    """The answer was cut off at the token limit (``finish_reason: length``)."""
    MALFORMED_ANSWER = "malformed_answer"
    """The answer could not be read as an assistant turn (a call without a name, arguments that are not JSON;
    for a relabelled run, output the format cannot parse)."""
    EMPTY_ANSWER = "empty_answer"
    """The answer has neither text nor calls."""
    UNKNOWN_TOOL = "unknown_tool"
    """The answer calls a tool the request did not offer."""
    INVALID_ARGUMENTS = "invalid_arguments"
    """A call's arguments break the offered tool's parameter schema."""
    CONTROL_TOKEN_TEXT = "control_token_text"
    """The conversation's text holds a special token's text, which training would turn into the real control
    token."""
    NOT_RELABELLED = "not_relabelled"
    """A relabelling run holds no teacher answer for it (the evaluation skipped it, e.g. for control-token text,
    or the run was interrupted: run ``relabel`` again to resume)."""
    OVER_MAX_PER_TOOL = "over_max_per_tool"
    """Left out by ``max_per_tool``: its tool already has that many examples."""


@dataclass(frozen=True)
class Answer:
    """One answer an LLM gave to a request, with what its server said about it."""

    message: Message | None
    """The assistant turn; ``None`` when there is none (an upstream error, an empty or unreadable answer)."""
    finish_reason: str | None = None
    """Why generation stopped, as the server said (``"stop"``, ``"tool_calls"``, ``"length"``, ...)."""
    error: str | None = None
    """The upstream error, when the server gave no answer."""
    malformed: str | None = None
    """Why the answer could not be read as an assistant turn, when it could not."""


@dataclass(frozen=True)
class Example:
    """A request with the answer(s) given to it, as every curation step sees it."""

    id: str
    """Unique across the sources being curated (:func:`~slmswap.curation.read_sources` makes it so)."""
    request: Conversation
    """Everything before the answer: the messages up to the answered assistant turn, and the offered tools."""
    answer: Answer
    """The label: the answer the dataset keeps (a teacher's, for a relabelled run)."""
    original: Answer | None = None
    """For a relabelled run, the answer the data held before (kept beside the teacher's)."""


@dataclass(frozen=True)
class Unreadable:
    """A row that could not be read as an example: dropped as :attr:`DropReason.UNREADABLE`, with why."""

    id: str
    detail: str
    """What was wrong and where (source, line, field)."""
