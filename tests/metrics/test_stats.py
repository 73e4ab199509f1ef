"""Bootstrap intervals and the exact McNemar test."""

from __future__ import annotations

import pytest

from slmswap.metrics import bootstrap_mean, mcnemar_exact, paired_bootstrap_difference


def test_bootstrap_interval_contains_the_mean_and_is_deterministic() -> None:
    values = [1.0] * 30 + [0.0] * 70
    interval = bootstrap_mean(values, seed=3)
    assert interval.value == pytest.approx(0.3)
    assert 0.19 < interval.low < 0.3 < interval.high < 0.41  # about ±1.96·sqrt(.3·.7/100) = ±0.09
    assert bootstrap_mean(values, seed=3) == interval
    assert bootstrap_mean([1.0] * 5).low == 1.0


def test_paired_difference() -> None:
    interval = paired_bootstrap_difference([0, 0, 1, 1] * 5, [1, 1, 1, 1] * 5)
    assert interval.value == pytest.approx(0.5)
    assert interval.excludes_zero()
    assert not paired_bootstrap_difference([0, 0, 1, 1], [1, 1, 1, 1]).excludes_zero()  # 4 pairs: too few
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_difference([1], [1, 0])


@pytest.mark.parametrize(
    ("a", "b", "p"),
    [
        ([1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], 2 * (1 / 16)),  # 4 discordant, all one way
        ([1, 0, 1, 0], [0, 1, 0, 1], 1.0),  # balanced
        ([1, 1], [1, 1], 1.0),  # no discordant pair
        ([0] * 5 + [1], [1] * 5 + [0], 2 * (1 + 6) / 64),  # 6 discordant, 5 vs 1: 2·(C(6,0)+C(6,1))/2^6
    ],
)
def test_mcnemar_exact(a: list[int], b: list[int], p: float) -> None:
    assert mcnemar_exact(a, b) == pytest.approx(p)
