"""Relabelling with a stronger model: an evaluation run of the teacher on the data's requests.

:func:`relabel` is :func:`~slmswap.evaluate_into` (records appended as they complete, resumable) on the
requests the sources hold, with the data kept in the run directory (``conversations.jsonl``, as request-log
rows: the original answers, even invalid ones, with their ``finish_reason`` and ``error``; the rows that could
not be read, with why, in ``unreadable.jsonl``), so that
``curate RUN`` alone can take the teacher's answers as labels and keep the originals beside them. A request
whose original answer is unusable (an error, a truncation, a call of a tool not offered) is still asked; its
reference is a placeholder, so the run's scores (the teacher's agreement with the originals) skip it.

The teacher is asked the request as the application sent it (``OpenAIBackend(send="conversation")``: its own
system prompt, the tools through ``tools=``), not the small model's format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._files import write_atomically
from slmswap.curation.example import Answer, Example
from slmswap.curation.sources import CONVERSATIONS_FILE, UNREADABLE_FILE, read_sources
from slmswap.curation.validity import check_example, full_conversation, validity_checks
from slmswap.data.openai import openai_message, openai_request
from slmswap.errors import ConfigError
from slmswap.evaluation.backend import Generate
from slmswap.evaluation.report import Run
from slmswap.evaluation.rundir import evaluate_into
from slmswap.evaluation.runner import PROMPTS_PER_CALL
from slmswap.formats.base import ChatFormat
from slmswap.metrics import PLACEHOLDER_TEXT
from slmswap.schema import Conversation, Message

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["PLACEHOLDER_ANSWER", "relabel"]

PLACEHOLDER_ANSWER = "(no usable original answer)"
"""The reference text of a request whose original answer is unusable."""


def relabel(
    sources: str | Path | Sequence[str | Path],
    directory: str | Path,
    generate: Generate,
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    *,
    model: str | None = None,
    batch_size: int = PROMPTS_PER_CALL,
    progress: Callable[[int, int], None] | None = None,
) -> Run:
    """Have ``generate`` (the teacher's backend) answer every request of ``sources`` into the run
    ``directory`` (resumed if it holds an interrupted run of the same data); returns the run.

    ``tokenizer`` and ``fmt`` say how the answers are read back and scored, as for
    :func:`~slmswap.evaluate_into`; ``model`` names the teacher in the records.

    Raises:
        ConfigError: ``directory`` already holds a relabelling of other data.
    """
    listed = [sources] if isinstance(sources, (str, Path)) else list(sources)
    read = read_sources(listed)
    if read.relabelled:
        raise ConfigError("the sources are a relabelling run already: relabel the data it was made from")
    directory = Path(directory)
    rows = "".join(json.dumps(_log_row(example), ensure_ascii=False) + "\n" for example in read.examples)
    kept = directory / CONVERSATIONS_FILE
    if kept.is_file() and kept.read_text(encoding="utf-8") != rows:
        raise ConfigError(
            f"{directory} holds a relabelling of other data ({kept} differs): relabel into another directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    write_atomically(kept, rows)
    unreadable = "".join(json.dumps({"id": row.id, "detail": row.detail}) + "\n" for row in read.unreadable)
    write_atomically(directory / UNREADABLE_FILE, unreadable)
    checks = validity_checks()
    conversations = [_asked(example, usable=check_example(example, checks) is None) for example in read.examples]
    return evaluate_into(
        directory, conversations, generate, tokenizer, fmt, model=model, batch_size=batch_size, progress=progress
    )


def _log_row(example: Example) -> dict[str, object]:
    """``example`` as a request-log row: what :mod:`~slmswap.curation.sources` reads back as the same example."""
    messages, tools = openai_request(example.request)
    answer: Answer = example.answer
    if answer.message is not None:
        messages.append(openai_message(answer.message))
    row: dict[str, object] = {"id": example.id, "messages": messages}
    if tools:
        row["tools"] = tools
    if answer.finish_reason is not None:
        row["finish_reason"] = answer.finish_reason
    if answer.error is not None:
        row["error"] = answer.error
    return row


def _asked(example: Example, *, usable: bool) -> Conversation:
    """The conversation the teacher is evaluated on: the request, and the original answer as the reference (a
    placeholder where it is unusable)."""
    if usable:
        return full_conversation(example)
    request = example.request
    placeholder = Message.assistant(PLACEHOLDER_ANSWER)
    return Conversation(
        messages=(*request.messages, placeholder), tools=request.tools, id=example.id, metadata={PLACEHOLDER_TEXT: True}
    )
