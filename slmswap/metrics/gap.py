"""The gap closed: how far a tuned model got from its base model towards the LLM, on gold-labelled data.

``(tuned - base) / (LLM - base)`` on one metric, over the examples all three runs scored, with a paired
bootstrap interval (:func:`~slmswap.metrics.stats.paired_bootstrap_gap`); and a verdict on whether the tuned
model stays within a chosen margin of the LLM (the LLM as the floor: the lower end of the paired 95 % interval
of ``tuned - LLM`` (:func:`~slmswap.metrics.compare`) is at least ``-margin``).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from slmswap.errors import ConfigError
from slmswap.metrics.scoring import ACCURACY_METRICS, MetricsReport, compare
from slmswap.metrics.stats import paired_bootstrap_gap

__all__ = ["DEFAULT_MARGIN", "GapClosed", "gap_closed"]

DEFAULT_MARGIN = 0.02
"""How far below the LLM (in the metric's units) still counts as within its margin."""


class GapClosed(BaseModel):
    """The share of the base-to-LLM gap a tuned run closes on one metric, and the within-margin verdict."""

    model_config = ConfigDict(frozen=True)

    metric: str
    n: int
    """Examples all three runs scored."""
    base: float
    tuned: float
    llm: float
    value: float | None
    """``(tuned - base) / (llm - base)``; ``None`` when the LLM and the base score the same."""
    low: float | None
    high: float | None
    """The 95 % paired-bootstrap interval of :attr:`value`."""
    margin: float
    difference_low: float
    difference_high: float
    """The 95 % paired-bootstrap interval of ``tuned - llm``."""
    within_margin: bool
    """``tuned - llm`` is at least ``-margin`` across its whole interval."""

    def describe(self, base: str, tuned: str, llm: str) -> str:
        """Two lines: the gap closed with its interval, and the verdict."""
        if self.value is None:
            gap = f"gap closed on {self.metric}: undefined ({llm} and {base} score the same, {self.llm:.3f})"
        else:
            bounds = f" [{self.low:.2f}, {self.high:.2f}]" if self.low is not None and self.high is not None else ""
            gap = (
                f"gap closed on {self.metric}: {self.value:.2f}{bounds} of the way from {base} ({self.base:.3f}) "
                f"to {llm} ({self.llm:.3f}); {tuned}: {self.tuned:.3f} (n={self.n}, paired 95 % interval)"
            )
        interval = f"{tuned} - {llm} in [{self.difference_low:+.3f}, {self.difference_high:+.3f}]"
        if self.within_margin:
            return f"{gap}\n{tuned} stays within {self.margin:g} of {llm} on {self.metric} ({interval})"
        return f"{gap}\n{tuned} is not shown to stay within {self.margin:g} of {llm} on {self.metric} ({interval})"


def gap_closed(
    base: MetricsReport,
    tuned: MetricsReport,
    llm: MetricsReport,
    *,
    metric: str | None = None,
    margin: float = DEFAULT_MARGIN,
    seed: int = 0,
) -> GapClosed:
    """The gap ``tuned`` closes between ``base`` and ``llm`` on ``metric`` (default: the first of
    :data:`~slmswap.metrics.ACCURACY_METRICS` all three scored), pairing examples by id.

    Raises:
        ConfigError: No metric all three runs scored on shared examples, or a negative margin.
    """
    if margin < 0:
        raise ConfigError(f"the margin is a distance below the LLM, at least 0; got {margin}")
    wanted = [metric] if metric else list(ACCURACY_METRICS)
    chosen = next((name for name in wanted if all(name in run.scores for run in (base, tuned, llm))), None)
    if chosen is None:
        raise ConfigError(f"no metric among {wanted} that all three runs scored")
    columns = []
    for run in (base, tuned, llm):
        columns.append(dict(zip(run.example_ids, run.scores[chosen], strict=True)))
    ids = [i for i in base.example_ids if all(column.get(i) is not None for column in columns)]
    if not ids:
        raise ConfigError(f"the three runs share no example scored on {chosen}")
    b, t, top = ([float(column[i]) for i in ids] for column in columns)  # type: ignore[arg-type]
    interval = paired_bootstrap_gap(b, t, top, seed=seed)
    difference = next(row for row in compare(llm, tuned, seed=seed) if row.metric == chosen)
    defined = not math.isnan(interval.value)
    return GapClosed(
        metric=chosen,
        n=len(ids),
        base=sum(b) / len(b),
        tuned=sum(t) / len(t),
        llm=sum(top) / len(top),
        value=interval.value if defined else None,
        low=interval.low if defined and not math.isnan(interval.low) else None,
        high=interval.high if defined and not math.isnan(interval.high) else None,
        margin=margin,
        difference_low=difference.low,
        difference_high=difference.high,
        within_margin=difference.low >= -margin,
    )
