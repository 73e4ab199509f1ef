"""The betting confidence sequence: the paper's capital process, coverage that survives checking after every
observation, and the fixed-n interval that does not (the peeking problem)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slmswap.live.confidence import confidence_sequence, exclusion_times, projected_exclusion

ALPHA = 0.05
STREAMS = 400
LENGTH = 1000
Z95 = 1.959963984540054


def _reference_capital(values: list[float], m: float) -> list[tuple[float, float]]:
    """K⁺_t(m) and K⁻_t(m) for t = 1..n, written out from Waudby-Smith and Ramdas's definitions one step at a
    time (hedged capital, predictable plug-in bets, truncation c = 1/2), independently of the vectorised code."""
    capital_up = capital_down = 1.0
    total = squares = 0.0
    variance_before = 0.25
    out = []
    for t, x in enumerate(values, start=1):
        bet = math.sqrt(2 * math.log(2 / ALPHA) / (variance_before * t * math.log(1 + t)))
        bet_up = bet if m == 0 else min(bet, 0.5 / m)
        bet_down = bet if m == 1 else min(bet, 0.5 / (1 - m))
        capital_up *= 1 + bet_up * (x - m)
        capital_down *= 1 - bet_down * (x - m)
        out.append((capital_up, capital_down))
        total += x
        squares += (x - (0.5 + total) / (t + 1)) ** 2
        variance_before = (0.25 + squares) / (t + 1)
    return out


def test_the_sequence_is_the_papers_capital_process() -> None:
    rng = np.random.default_rng(3)
    values = rng.beta(5, 2, size=400)
    candidates = [0.0, 0.3, 0.55, 0.62, 0.7, 0.71, 0.8, 0.95, 1.0]
    below, above = exclusion_times(values, candidates)
    for k, m in enumerate(candidates):
        capital = _reference_capital(list(values), m)
        first_up = next((t for t, (up, _) in enumerate(capital, 1) if up >= 2 / ALPHA), math.inf)
        first_down = next((t for t, (_, down) in enumerate(capital, 1) if down >= 2 / ALPHA), math.inf)
        assert (below[k], above[k]) == (first_up, first_down), m
    sequence = confidence_sequence(values, resolution=100)
    grid = np.linspace(0, 1, 101)
    below, above = exclusion_times(values, grid)
    for t in (1, 10, 50, 400):  # the bounds are the extreme grid points excluded by then
        assert sequence.lower[t - 1] == max([0.0, *grid[below <= t]])
        assert sequence.upper[t - 1] == min([1.0, *grid[above <= t]])
    assert (np.diff(sequence.lower) >= 0).all()
    assert (np.diff(sequence.upper) <= 0).all()
    assert 0.6 < sequence.lower[-1] < values.mean() < sequence.upper[-1] < 0.8


def _streams(kind: str, mean: float, rng: np.random.Generator) -> np.ndarray:
    if kind == "bernoulli":
        return (rng.random((STREAMS, LENGTH)) < mean).astype(np.float64)
    concentration = 6.0  # Beta(mean * 6, (1 - mean) * 6)
    return rng.beta(mean * concentration, (1 - mean) * concentration, size=(STREAMS, LENGTH))


def _wilson(successes: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    share = successes / n
    centre = (share + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * np.sqrt(share * (1 - share) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    return centre - half, centre + half


SETTINGS = [("bernoulli", 0.05), ("bernoulli", 0.5), ("bernoulli", 0.9), ("bernoulli", 0.97), ("beta", 0.3)]
MONTE_CARLO = 3 * math.sqrt(ALPHA * (1 - ALPHA) / STREAMS)
"""Three standard errors of a 5 % rate estimated from STREAMS streams."""


@pytest.mark.parametrize(("kind", "mean"), SETTINGS)
def test_coverage_holds_however_often_it_is_checked(kind: str, mean: float) -> None:
    rng = np.random.default_rng(17)
    streams = _streams(kind, mean, rng)
    # the guarantee is L_t < μ < U_t at every t; with the truth on the grid, a bound that reaches it at some t is
    # exactly the truth excluded by then
    ever_out = 0
    for values in streams:
        sequence = confidence_sequence(values, resolution=20, include=[mean])
        ever_out += bool(((sequence.lower >= mean) | (sequence.upper <= mean)).any())
    below, above = exclusion_times(streams, np.full((STREAMS, 1), mean))
    assert ever_out == int((np.isfinite(below) | np.isfinite(above)).sum())
    assert ever_out / STREAMS <= ALPHA + MONTE_CARLO


@pytest.mark.parametrize(("kind", "mean"), SETTINGS)
def test_a_fixed_n_interval_checked_after_every_observation_is_wrong(kind: str, mean: float) -> None:
    rng = np.random.default_rng(17)
    streams = _streams(kind, mean, rng)
    n = np.arange(1, LENGTH + 1)
    if kind == "bernoulli":
        low, high = _wilson(np.cumsum(streams, axis=1), n)
    else:  # the normal interval with the sample standard deviation
        running = np.cumsum(streams, axis=1) / n
        spread = np.sqrt(np.maximum(np.cumsum(streams**2, axis=1) / n - running**2, 0) / np.maximum(n - 1, 1))
        low, high = running - Z95 * spread, running + Z95 * spread
    outside = (low > mean) | (high < mean)
    assert outside[:, -1].mean() <= ALPHA + MONTE_CARLO  # right at the one sample size fixed in advance
    assert outside[:, 29:].any(axis=1).mean() > 4 * ALPHA  # wrong when looked at after every observation


def test_a_projection_says_when_a_candidate_would_leave() -> None:
    rng = np.random.default_rng(5)
    values = (rng.random(20000) < 0.95).astype(np.float64)
    below, _ = exclusion_times(values, [0.9])
    start = int(below[0]) // 3  # a third of the way to the real decision
    projected_below, projected_above = projected_exclusion(values[:start], 0.9)
    assert below[0] / 4 < projected_below < below[0] * 4
    assert projected_above == math.inf  # the mean is above 0.9: it is never excluded from above
    assert projected_exclusion(np.tile([1.0, 0.0], 50), 0.5) == (math.inf, math.inf)


@pytest.mark.parametrize("bad", [[0.5, 1.2], [-0.1], [math.nan]])
def test_values_outside_the_unit_interval_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        confidence_sequence(bad)
