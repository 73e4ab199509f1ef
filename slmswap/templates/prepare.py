"""Preparing a training set: conversations in, a dataset TRL trains on as-is (``input_ids``, ``labels``) out.

Conversations are tokenized in batches (one batched tokenizer call each) and, with ``num_proc``, in several
worker processes. An example with nothing to learn never reaches training: it is dropped and counted with its
reason, or, with ``strict=True``, stops preparation with a :class:`~slmswap.errors.DataError` naming the example.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation
from slmswap.templates.tokenize import (
    TokenizedExample,
    TokenizeOptions,
    raise_if_dropped,
    tokenize_conversations,
)

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

__all__ = ["PreparationStats", "PreparedData", "prepare_dataset"]


class PreparationStats(BaseModel):
    """What preparation kept, dropped (and why), and how long the examples are."""

    model_config = ConfigDict(frozen=True)

    examples: int
    kept: int
    dropped: dict[str, int]
    """Dropped examples by :class:`~slmswap.templates.tokenize.DropReason` value."""
    truncated_tails: int
    """Kept examples whose untrained tail was cut to ``max_length``."""
    tokens: int
    trained_tokens: int
    length_percentiles: dict[str, int]
    """Token length of kept examples at p50, p90, p99 and max."""
    first_drops: list[str]
    """The first few dropped examples, ``"name: detail [reason]"``, for a human to read."""
    span_method: str = "exact"
    """How assistant spans were located: ``"fast"`` (read off one render per conversation, after agreeing with
    the exact method on a sample of this dataset) or ``"exact"`` (every evaluation prompt rendered)."""

    def summary(self) -> str:
        """One line for logs."""
        dropped = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        lengths = self.length_percentiles
        return (
            f"{self.kept}/{self.examples} examples kept (dropped: {dropped}); {self.trained_tokens}/{self.tokens} "
            f"tokens trained; length p50={lengths.get('p50', 0)} max={lengths.get('max', 0)}"
        )


class PreparedData:
    """A training-ready ``datasets.Dataset`` (columns ``input_ids``, ``labels``) and its statistics."""

    def __init__(self, dataset: Dataset, stats: PreparationStats) -> None:
        self.dataset = dataset
        self.stats = stats

    def __repr__(self) -> str:
        return f"PreparedData({self.stats.summary()})"


def _percentile(sorted_values: Sequence[int], q: float) -> int:
    if not sorted_values:
        return 0
    return int(sorted_values[min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1) + 0.5))])


def _name(conversation: Conversation, index: int) -> str:
    return f"example {index}" + (f" (id {conversation.id!r})" if conversation.id else "")


def _conversations(data: Iterable[Conversation] | Dataset) -> list[Conversation]:
    if type(data).__module__.startswith("datasets"):
        column: Any = data["conversation"]  # type: ignore[index]
        return [
            Conversation.model_validate_json(c) if isinstance(c, str) else Conversation.model_validate(c)
            for c in column
        ]
    return list(data)


_worker: tuple[Any, ChatFormat, TokenizeOptions, bool] | None = None


def _init_worker(tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, options: TokenizeOptions, exact: bool) -> None:
    global _worker
    _worker = (tokenizer, fmt, options, exact)


def _work(batch: list[Conversation]) -> list[TokenizedExample]:
    assert _worker is not None
    tokenizer, fmt, options, exact = _worker
    return tokenize_conversations(tokenizer, fmt, batch, options, exact=exact)


def _fast_spans_agree(
    tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, conversations: Sequence[Conversation], options: TokenizeOptions
) -> bool:
    """Whether the fast span method labels a sample of ``conversations`` exactly as the exact method does."""
    step = max(1, len(conversations) // _SAMPLE)
    sample = list(conversations[:_SAMPLE]) + list(conversations[_SAMPLE::step][:_SAMPLE])
    fast = tokenize_conversations(tokenizer, fmt, sample, options, exact=False)
    exact = tokenize_conversations(tokenizer, fmt, sample, options, exact=True)
    return all(
        (a.input_ids, a.labels, a.dropped, a.detail) == (b.input_ids, b.labels, b.dropped, b.detail)
        for a, b in zip(fast, exact, strict=True)
    )


_SAMPLE = 16


def prepare_dataset(
    data: Iterable[Conversation] | Dataset,
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    options: TokenizeOptions | None = None,
    *,
    num_proc: int | None = None,
    batch_size: int = 256,
    strict: bool = False,
) -> PreparedData:
    """Tokenize and label ``data`` for training.

    Args:
        data: Conversations, or a ``datasets.Dataset`` with a ``conversation`` column (their JSON or dicts).
        tokenizer: The model's tokenizer; its own chat template renders every example.
        fmt: The chat format (its target texts are what gets trained).
        options: Turn selection, ``max_length``, tool-result training.
        num_proc: Worker processes (none: tokenize in this process).
        batch_size: Conversations per batch (and per tokenizer call).
        strict: Raise a :class:`~slmswap.errors.DataError` naming the first example that would be dropped.
    """
    from datasets import Dataset

    options = options or TokenizeOptions()
    conversations = _conversations(data)
    exact = not _fast_spans_agree(tokenizer, fmt, conversations, options)
    batches = [conversations[i : i + batch_size] for i in range(0, len(conversations), batch_size)]
    examples: list[TokenizedExample] = []
    if num_proc and num_proc > 1 and len(batches) > 1:
        context = multiprocessing.get_context("spawn")  # forking a process that used the tokenizer may deadlock
        with ProcessPoolExecutor(
            num_proc, context, initializer=_init_worker, initargs=(tokenizer, fmt, options, exact)
        ) as pool:
            for batch in pool.map(_work, batches):
                examples += batch
                if strict:
                    _raise_first_drop(conversations, examples)
    else:
        for conversations_batch in batches:
            examples += tokenize_conversations(tokenizer, fmt, conversations_batch, options, exact=exact)
            if strict:
                _raise_first_drop(conversations, examples)
    kept = [e for e in examples if e.dropped is None]
    dataset = Dataset.from_dict({"input_ids": [e.input_ids for e in kept], "labels": [e.labels for e in kept]})
    lengths = sorted(len(e.input_ids) for e in kept)
    drops = [(i, e, e.dropped.value) for i, e in enumerate(examples) if e.dropped is not None]
    stats = PreparationStats(
        examples=len(examples),
        kept=len(kept),
        dropped=dict(Counter(reason for _, _, reason in drops)),
        truncated_tails=sum(e.truncated for e in kept),
        tokens=sum(lengths),
        trained_tokens=sum(e.trained_tokens for e in kept),
        length_percentiles={
            "p50": _percentile(lengths, 0.5),
            "p90": _percentile(lengths, 0.9),
            "p99": _percentile(lengths, 0.99),
            "max": lengths[-1] if lengths else 0,
        },
        first_drops=[f"{_name(conversations[i], i)}: {e.detail} [{reason}]" for i, e, reason in drops[:5]],
        span_method="exact" if exact else "fast",
    )
    return PreparedData(dataset, stats)


def _raise_first_drop(conversations: Sequence[Conversation], examples: Sequence[TokenizedExample]) -> None:
    for index, example in enumerate(examples):
        raise_if_dropped(example, _name(conversations[index], index))
