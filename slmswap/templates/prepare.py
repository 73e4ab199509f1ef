"""Preparing a training set: conversations in, a dataset TRL trains on as-is (``input_ids``, ``labels``) out.

Runs batched and, with ``num_proc``, in several processes (``datasets.Dataset.map``). An example with nothing
to learn never reaches training: it is dropped and counted with its reason, or, with ``strict=True``, stops
preparation with a :class:`~slmswap.errors.DataError` naming the example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation
from slmswap.templates.tokenize import TokenizeOptions, raise_if_dropped, tokenize_conversations

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
    """The first few dropped examples, ``"name: reason: detail"``, for a human to read."""

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


class _Tokenize:
    """The per-batch function handed to ``Dataset.map`` (a class so it pickles for ``num_proc``)."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, options: TokenizeOptions, strict: bool
    ) -> None:
        self.tokenizer, self.fmt, self.options, self.strict = tokenizer, fmt, options, strict

    def __call__(self, batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"input_ids": [], "labels": [], "dropped": [], "detail": [], "truncated": []}
        conversations = [Conversation.model_validate_json(raw) for raw in batch["conversation"]]
        examples = tokenize_conversations(self.tokenizer, self.fmt, conversations, self.options)
        for conversation, example, index in zip(conversations, examples, indices, strict=True):
            if self.strict:
                raise_if_dropped(example, _name(conversation, index))
            out["input_ids"].append(example.input_ids)
            out["labels"].append(example.labels)
            out["dropped"].append(example.dropped.value if example.dropped else "")
            out["detail"].append(f"{_name(conversation, index)}: {example.detail}" if example.dropped else "")
            out["truncated"].append(example.truncated)
        return out


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
        data: Conversations, or a ``datasets.Dataset`` with a ``conversation`` column of their JSON.
        tokenizer: The model's tokenizer; its own chat template renders every example.
        fmt: The chat format (its target texts are what gets trained).
        options: Turn selection, ``max_length``, tool-result training.
        num_proc: Worker processes for ``Dataset.map``.
        batch_size: Examples per ``map`` batch.
        strict: Raise a :class:`~slmswap.errors.DataError` naming the first example that would be dropped.
    """
    from datasets import Dataset

    options = options or TokenizeOptions()
    if not isinstance(data, Dataset):
        data = Dataset.from_dict({"conversation": [c.model_dump_json() for c in data]})
    mapped = data.map(
        _Tokenize(tokenizer, fmt, options, strict),
        batched=True,
        batch_size=batch_size,
        with_indices=True,
        num_proc=num_proc,
        remove_columns=data.column_names,
        desc="slmswap: tokenizing",
    )
    reasons: list[str] = mapped["dropped"]
    keep = [i for i, reason in enumerate(reasons) if not reason]
    kept = mapped.select(keep).select_columns(["input_ids", "labels"])
    lengths = sorted(len(ids) for ids in kept["input_ids"])
    trained = sum(sum(1 for label in labels if label != -100) for labels in kept["labels"])
    truncated: list[bool] = mapped["truncated"]
    details: list[str] = mapped["detail"]
    stats = PreparationStats(
        examples=len(reasons),
        kept=len(keep),
        dropped=dict(Counter(reason for reason in reasons if reason)),
        truncated_tails=sum(truncated),
        tokens=sum(lengths),
        trained_tokens=trained,
        length_percentiles={
            "p50": _percentile(lengths, 0.5),
            "p90": _percentile(lengths, 0.9),
            "p99": _percentile(lengths, 0.99),
            "max": lengths[-1] if lengths else 0,
        },
        first_drops=[f"{detail} [{reason}]" for reason, detail in zip(reasons, details, strict=True) if reason][:5],
    )
    return PreparedData(kept, stats)
