"""Anytime-valid confidence sequences for a mean in [0, 1]: the betting confidence sequences of Waudby-Smith and
Ramdas.

A fixed-n 95 % interval is right at one sample size chosen in advance. Looked at after every request, it
excludes the truth far more often than 5 % of the time (the peeking problem). A *confidence sequence* is a
sequence of intervals ``[L_t, U_t]``, one after each observation, that holds the true mean at every ``t`` at
once with probability at least 95 %, so it may be checked as often as one likes and acted on whenever it is
decided.

Reference: I. Waudby-Smith and A. Ramdas, "Estimating means of bounded random variables by betting", Journal of
the Royal Statistical Society Series B 86(1), 2023 (arXiv:2010.09686): the hedged capital process with
predictable plug-in (PrPl) bets.

The construction, for observations ``X_1, X_2, ...`` in [0, 1] whose conditional mean given the past is ``μ``:

* For each candidate mean ``m`` a gambler bets against ``m`` in both directions. The capital processes are

  ``K⁺_t(m) = ∏_{i≤t} (1 + λ⁺_i(m) (X_i − m))`` and ``K⁻_t(m) = ∏_{i≤t} (1 − λ⁻_i(m) (X_i − m))``,

  and the hedged process is ``K±_t(m) = max(θ K⁺_t(m), (1 − θ) K⁻_t(m))`` with ``θ = 1/2``. At ``m = μ`` it is a
  nonnegative supermartingale starting at 1, so by Ville's inequality ``P(∃t: K±_t(μ) ≥ 1/α) ≤ α``.
* The bets are predictable (they use ``X_1..X_{i−1}`` only), the PrPl plug-in:

  ``μ̂_t = (1/2 + Σ_{i≤t} X_i) / (t + 1)``, ``σ̂²_t = (1/4 + Σ_{i≤t} (X_i − μ̂_i)²) / (t + 1)``,

  ``λ̇_t = sqrt(2 log(2/α) / (σ̂²_{t−1} t log(1 + t)))``,

  truncated per side, ``λ⁺_t(m) = min(λ̇_t, c/m)`` and ``λ⁻_t(m) = min(λ̇_t, c/(1 − m))`` with ``c = 1/2``, so
  every factor stays at least ``1 − c > 0``.
* The confidence set at ``t`` is ``{m : K±_t(m) < 1/α}``, and the sequence reported is the running intersection
  of these sets: a candidate once excluded stays excluded.

With ``θ = 1/2``, ``K±_t(m) ≥ 1/α`` exactly when ``K⁺_t(m) ≥ 2/α`` (``m`` is excluded *from below*: the mean is
larger than ``m``) or ``K⁻_t(m) ≥ 2/α`` (excluded *from above*). With the truncation above, ``K⁺_t(m)`` is
nonincreasing in ``m`` and ``K⁻_t(m)`` nondecreasing (each factor is monotone in ``m``), so the hedged process is
quasi-convex in ``m`` and every confidence set is an interval. Each side's error is at most ``α/2``: a lower
bound that rises above the truth happens in at most 2.5 % of streams at the 95 % level.

The bounds are computed over a grid of candidate means (``resolution`` steps over [0, 1], plus any points asked
for, such as a bar to decide against). The lower bound reported is the largest grid point excluded from below,
the upper bound the smallest excluded from above: each lies on the safe side of the exact bound, so the
reported interval always contains the exact one, and for a point on the grid, "``L_t ≥`` the point" is exactly
"the point is excluded from below by ``t``" (and "``U_t ≤`` the point", excluded from above). The guarantee is
strict: ``L_t < μ < U_t`` for every ``t`` at once, with probability at least ``1 − α``.

Why not a package: ``confseq`` 0.0.11 (the paper's own code) ships only as a source distribution that needs
Boost to build and ``np.float_``, which NumPy 2 removed; ``expectation`` needs Python 3.12. The construction
above is a few lines of NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ConfidenceSequence",
    "confidence_sequence",
    "exclusion_times",
    "predictable_bets",
    "projected_exclusion",
]

ALPHA = 0.05
"""The default error level: 95 % confidence sequences."""

TRUNCATION = 0.5
"""``c`` in ``λ⁺_t(m) = min(λ̇_t, c/m)``: each factor of the capital is at least ``1 − c``."""

RESOLUTION = 1000
"""Grid steps over [0, 1] for the bounds: each reported bound is within ``1/RESOLUTION`` of the exact one, on
its safe side."""

_ELEMENTS_PER_CHUNK = 1 << 22
"""Capital values held at once (candidate means times observations), to bound the memory of long streams."""


def _values(values: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("expected a sequence of observations, got a single number")
    if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise ValueError("every observation must lie in [0, 1]")
    return x


def _variances(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The plug-in variances ``σ̂²_1..σ̂²_n`` along the last axis (each shrunk towards 1/4 by one pseudo-observation,
    around the running means ``μ̂_t`` shrunk towards 1/2)."""
    t = np.arange(1, x.shape[-1] + 1, dtype=np.float64)
    mean = (0.5 + np.cumsum(x, axis=-1)) / (t + 1)
    variances: NDArray[np.float64] = (0.25 + np.cumsum((x - mean) ** 2, axis=-1)) / (t + 1)
    return variances


def _bets(variances: ArrayLike, times: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """``λ̇_t = sqrt(2 log(2/α) / (σ̂²_{t−1} t log(1 + t)))`` for the given variances and times."""
    t = np.asarray(times, dtype=np.float64)
    bets: NDArray[np.float64] = np.sqrt(2 * math.log(2 / alpha) / (np.asarray(variances) * t * np.log1p(t)))
    return bets


def predictable_bets(values: ArrayLike, *, alpha: float = ALPHA) -> NDArray[np.float64]:
    """The predictable plug-in bets ``λ̇_1..λ̇_n`` before truncation, along the last axis of ``values``: each
    uses the observations before it only (``σ̂²_0 = 1/4``)."""
    x = _values(values)
    before = np.concatenate([np.full((*x.shape[:-1], 1), 0.25), _variances(x)], axis=-1)[..., :-1]  # σ̂²_{t−1}
    return _bets(before, np.arange(1, x.shape[-1] + 1), alpha)


def _log_factors(
    values: NDArray[np.float64], bets: NDArray[np.float64], means: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``log(1 + λ⁺(m)(x − m))`` and ``log(1 − λ⁻(m)(x − m))``, elementwise (the arrays broadcast), with each
    side's bet truncated at ``c/m`` or ``c/(1 − m)``."""
    with np.errstate(divide="ignore"):
        cap_up = TRUNCATION / means  # infinite at m = 0, where the bet is not truncated
        cap_down = TRUNCATION / (1 - means)
    gain = values - means
    return np.log1p(np.minimum(bets, cap_up) * gain), np.log1p(-np.minimum(bets, cap_down) * gain)


def _means(means: ArrayLike) -> NDArray[np.float64]:
    m = np.asarray(means, dtype=np.float64)
    if m.ndim == 0 or (m.size and (not np.isfinite(m).all() or m.min() < 0 or m.max() > 1)):
        raise ValueError("candidate means must be a sequence of numbers in [0, 1]")
    return m


def exclusion_times(
    values: ArrayLike, means: ArrayLike, *, alpha: float = ALPHA
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """After how many observations each candidate mean leaves the running intersection, from below and from
    above (``inf``: not yet).

    Args:
        values: Observations in [0, 1], shape ``(..., n)``: one stream, or a batch of streams.
        means: Candidate means in [0, 1], shape ``(..., k)`` (broadcast against the streams' leading axes).
        alpha: The error level (0.05 for 95 % sequences).

    Returns:
        ``(below, above)``, each of shape ``(..., k)``: the first ``t`` with ``K⁺_t(m) ≥ 2/α`` (the mean is
        above ``m``) and the first with ``K⁻_t(m) ≥ 2/α`` (the mean is below ``m``).
    """
    x = _values(values)
    m = _means(means)
    bets = predictable_bets(x, alpha=alpha)
    n = x.shape[-1]
    shape = (*np.broadcast_shapes(x.shape[:-1], m.shape[:-1]), m.shape[-1])
    below = np.full(shape, np.inf)
    above = np.full(shape, np.inf)
    wealth_up = np.zeros(shape)  # log K⁺ and log K⁻ carried from one chunk of time to the next
    wealth_down = np.zeros(shape)
    threshold = math.log(2 / alpha)
    step = max(1, _ELEMENTS_PER_CHUNK // max(1, math.prod(shape)))
    for start in range(0, n, step):
        chunk = slice(start, start + step)
        gains_up, gains_down = _log_factors(x[..., None, chunk], bets[..., None, chunk], m[..., None])
        up = wealth_up[..., None] + np.cumsum(gains_up, axis=-1)
        down = wealth_down[..., None] + np.cumsum(gains_down, axis=-1)
        for side, capital in ((below, up), (above, down)):
            crossed = capital >= threshold
            first = np.where(crossed.any(axis=-1), crossed.argmax(axis=-1) + start + 1.0, np.inf)
            np.minimum(side, first, out=side)
        wealth_up, wealth_down = up[..., -1], down[..., -1]
    return below, above


_HORIZON = 1e12
"""The furthest :func:`projected_exclusion` looks ahead (observations)."""
_PROJECTION_STEP = 1.01
"""The projection integrates the expected gains over times growing by this factor."""


def projected_exclusion(values: ArrayLike, mean: float, *, alpha: float = ALPHA) -> tuple[float, float]:
    """When the candidate ``mean`` would leave the sequence, from below and from above, if the stream went on
    as it has so far (``inf``: not within 10¹² observations, or never).

    The projection: from the current log capital ``log K±_n(m)``, each later observation ``t`` adds its expected
    log gain under the empirical distribution of the values seen so far, with the bet ``λ̇_t`` the plug-in
    would make (``σ̂²`` held at its current value, then truncated as usual); the projected time is the first
    ``t`` where the sum reaches ``log(2/α)``. The gains change slowly with ``t``, so they are integrated over
    times growing geometrically. It is an estimate for planning, with no guarantee: the stream may change.
    """
    x = _values(values)
    if x.ndim != 1 or not len(x):
        raise ValueError("expected one stream with at least one observation")
    m = _means([mean])[0]
    n = len(x)
    threshold = math.log(2 / alpha)
    gains_up, gains_down = _log_factors(x, predictable_bets(x, alpha=alpha), m)
    seen, counts = np.unique(x, return_counts=True)
    steps = np.arange(1, math.ceil(math.log(_HORIZON / n) / math.log(_PROJECTION_STEP)) + 1)
    times = np.concatenate([[float(n)], n * _PROJECTION_STEP**steps])
    bets = _bets(_variances(x)[-1], times, alpha)  # σ̂² held at σ̂²_n
    future_up, future_down = _log_factors(seen[None, :], bets[:, None], m)
    projected = []
    for now, future in ((gains_up.sum(), future_up), (gains_down.sum(), future_down)):
        expected = future @ (counts / n)  # the expected log gain of one observation at each time
        added = np.cumsum(np.diff(times) * (expected[1:] + expected[:-1]) / 2)  # trapezoids
        crossed = np.flatnonzero(now + added >= threshold)
        projected.append(float(math.ceil(times[crossed[0] + 1])) if crossed.size else math.inf)
    return projected[0], projected[1]


@dataclass(frozen=True)
class ConfidenceSequence:
    """A 95 % (``1 − alpha``) confidence sequence for the mean ``μ`` of a stream of values in [0, 1]: after each
    observation ``t``, ``L_t < μ < U_t`` holds for every ``t`` at once with probability at least ``1 − alpha``
    (each side errs with at most ``alpha/2``). Built by :func:`confidence_sequence`."""

    lower: NDArray[np.float64]
    """``L_1..L_n``: the largest candidate mean excluded from below by each time (the mean is above it);
    nondecreasing (a running intersection)."""
    upper: NDArray[np.float64]
    """``U_1..U_n``: the smallest candidate excluded from above (the mean is below it); nonincreasing."""
    values: NDArray[np.float64]
    """The observations, in order."""
    alpha: float

    @property
    def mean(self) -> NDArray[np.float64]:
        """The running sample mean after each observation."""
        mean: NDArray[np.float64] = np.cumsum(self.values) / np.arange(1, self.n + 1)
        return mean

    @property
    def n(self) -> int:
        """How many observations the sequence has seen."""
        return len(self.values)

    @property
    def bounds(self) -> tuple[float, float]:
        """The current interval ``(L_n, U_n)``; ``(0, 1)`` before any observation."""
        if not self.n:
            return 0.0, 1.0
        return float(self.lower[-1]), float(self.upper[-1])

    def first_time(self, condition: NDArray[np.bool_]) -> int | None:
        """The first ``t`` (1-based) at which ``condition`` (one flag per observation) holds, or ``None``."""
        hits = np.flatnonzero(condition)
        return int(hits[0]) + 1 if hits.size else None


def confidence_sequence(
    values: Sequence[float] | NDArray[np.float64],
    *,
    alpha: float = ALPHA,
    resolution: int = RESOLUTION,
    include: Sequence[float] = (),
) -> ConfidenceSequence:
    """The betting confidence sequence of ``values`` (one stream, in arrival order) over a grid of candidate
    means: ``resolution`` equal steps over [0, 1] plus the points in ``include`` (put a bar there to decide
    against it exactly).

    Raises:
        ValueError: When a value lies outside [0, 1], or ``alpha`` outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if resolution < 1:
        raise ValueError(f"resolution must be at least 1, got {resolution}")
    x = _values(values)
    if x.ndim != 1:
        raise ValueError(f"expected one stream of observations, got an array of shape {x.shape}")
    n = len(x)
    grid = np.union1d(np.linspace(0.0, 1.0, resolution + 1), np.asarray(include, dtype=np.float64))
    below, above = exclusion_times(x, grid, alpha=alpha)
    lower = np.zeros(n + 1)  # slot t: the largest grid point excluded from below at time t
    upper = np.ones(n + 1)
    hit = np.isfinite(below)
    np.maximum.at(lower, below[hit].astype(np.int64), grid[hit])
    hit = np.isfinite(above)
    np.minimum.at(upper, above[hit].astype(np.int64), grid[hit])
    return ConfidenceSequence(
        lower=np.maximum.accumulate(lower)[1:], upper=np.minimum.accumulate(upper)[1:], values=x, alpha=alpha
    )
