"""The metric contract: what one scored example is, and how a metric scores and aggregates.

A metric is a small protocol away: any object with a ``name``, a ``binary`` flag and a
``score(example) -> float | None`` method (``None`` when it does not apply to the example) is a metric. Subclass
:class:`MetricBase` to get the default aggregation, the mean with a 95 % bootstrap confidence interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from slmswap.formats.base import ParseResult
from slmswap.metrics.stats import bootstrap_mean
from slmswap.schema import JsonObject, Message, Tool

__all__ = ["PLACEHOLDER_TEXT", "Metric", "MetricBase", "MetricValue", "ScoredExample", "mean_value"]

PLACEHOLDER_TEXT = "placeholder_text"
"""Metadata key: when true, the reference turn's text is a placeholder (any text answer without a call is right;
``exact_match`` does not apply), as for BFCL's irrelevance rows."""


@dataclass(frozen=True)
class ScoredExample:
    """What a metric sees: the reference assistant turn, the strictly parsed prediction, and context."""

    reference: Message
    prediction: ParseResult
    tools: tuple[Tool, ...] = ()
    metadata: JsonObject = field(default_factory=dict)
    """The conversation's metadata (e.g. ``bfcl_ground_truth`` for the BFCL AST metric, ``bfcl_category`` for the
    per-category breakdown, :data:`PLACEHOLDER_TEXT`)."""


@runtime_checkable
class Metric(Protocol):
    """Anything that scores one example: ``score`` returns a value in [0, 1], or ``None`` if not applicable."""

    name: str
    binary: bool
    """Scores are 0 or 1 (McNemar's test applies to paired comparisons)."""

    def score(self, example: ScoredExample) -> float | None: ...


class MetricValue(BaseModel):
    """An aggregate: the mean over applicable examples with its 95 % bootstrap interval, and extras."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    low: float
    high: float
    n: int
    """Examples the metric applied to."""
    binary: bool
    extra: dict[str, float] = {}
    """Further aggregates (e.g. micro precision/recall/F1)."""


class MetricBase:
    """Default aggregation for metrics: the mean of the applicable scores with a bootstrap interval."""

    name: str = ""
    binary: bool = True

    def score(self, example: ScoredExample) -> float | None:
        """Score one example (subclasses implement this)."""
        raise NotImplementedError

    def aggregate(
        self, examples: Sequence[ScoredExample], scores: Sequence[float | None], seed: int = 0
    ) -> MetricValue:
        """The mean of the applicable ``scores`` with a 95 % bootstrap confidence interval."""
        return mean_value(self.name, self.binary, scores, seed)


def mean_value(name: str, binary: bool, scores: Sequence[float | None], seed: int = 0) -> MetricValue:
    """The mean of the applicable (not ``None``) ``scores``, with a 95 % bootstrap confidence interval."""
    values = [s for s in scores if s is not None]
    interval = bootstrap_mean(values, seed=seed)
    return MetricValue(
        name=name, value=interval.value, low=interval.low, high=interval.high, n=len(values), binary=binary
    )
