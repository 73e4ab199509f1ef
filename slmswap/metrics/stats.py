"""Statistics for task metrics: bootstrap confidence intervals, paired comparison, exact McNemar test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Interval", "bootstrap_mean", "mcnemar_exact", "paired_bootstrap_difference", "paired_bootstrap_gap"]

_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval."""

    value: float
    low: float
    high: float
    level: float = 0.95

    def excludes_zero(self) -> bool:
        """Whether the whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0


def _resampled_means(columns: np.ndarray, seed: int) -> np.ndarray:
    """Per bootstrap resample of the examples (the columns of ``columns``, one row per paired sample), each row's
    mean: shape ``(resamples, rows)``; the same examples are drawn for every row, so pairs stay paired."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, columns.shape[1], size=(_RESAMPLES, columns.shape[1]))
    return np.stack([row[drawn].mean(axis=1) for row in columns], axis=1)


def bootstrap_mean(values: Sequence[float], *, level: float = 0.95, seed: int = 0) -> Interval:
    """The mean of ``values`` with a percentile-bootstrap confidence interval (deterministic for a seed)."""
    if not values:
        return Interval(math.nan, math.nan, math.nan, level)
    data = np.asarray(values, dtype=np.float64)
    means = _resampled_means(data[np.newaxis, :], seed)[:, 0]
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(data.mean()), float(low), float(high), level)


def paired_bootstrap_gap(
    base: Sequence[float], run: Sequence[float], top: Sequence[float], *, level: float = 0.95, seed: int = 0
) -> Interval:
    """The share of the gap from ``base`` to ``top`` that ``run`` closes, ``(mean(run) - mean(base)) /
    (mean(top) - mean(base))``, over paired examples, with a percentile-bootstrap interval that resamples the
    examples (resamples where ``top`` and ``base`` tie are left out). NaN when the means of ``top`` and
    ``base`` tie."""
    if not (len(base) == len(run) == len(top)):
        raise ValueError(f"paired samples differ in length: {len(base)}, {len(run)}, {len(top)}")
    if not base:
        return Interval(math.nan, math.nan, math.nan, level)
    data = np.asarray([base, run, top], dtype=np.float64)
    b, r, t = data.mean(axis=1)
    value = (r - b) / (t - b) if t != b else math.nan
    means = _resampled_means(data, seed)
    gaps = means[:, 2] - means[:, 0]
    ratios = (means[gaps != 0, 1] - means[gaps != 0, 0]) / gaps[gaps != 0]
    if not len(ratios):
        return Interval(value, math.nan, math.nan, level)
    tail = (1 - level) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return Interval(float(value), float(low), float(high), level)


def paired_bootstrap_difference(
    a: Sequence[float], b: Sequence[float], *, level: float = 0.95, seed: int = 0
) -> Interval:
    """Mean of ``b - a`` over paired examples, with a bootstrap interval that resamples the pairs."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    return bootstrap_mean([y - x for x, y in zip(a, b, strict=True)], level=level, seed=seed)


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided exact McNemar p-value for paired binary outcomes (a binomial test on the discordant pairs)."""
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x >= 0.5 > y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y >= 0.5 > x)
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    k = min(only_a, only_b)
    tail: float = sum(math.comb(discordant, i) for i in range(k + 1)) / 2**discordant
    return min(1.0, 2 * tail)
