"""The gap closed, (tuned - base) / (LLM - base), with a paired bootstrap interval, and the within-margin
verdict; checked on score columns whose answers are known by construction."""

from __future__ import annotations

import random

import pytest

from slmswap.errors import ConfigError
from slmswap.metrics import MetricsReport, mean_value
from slmswap.metrics.gap import gap_closed
from slmswap.metrics.stats import paired_bootstrap_gap


def _report(scores: list[float], ids: list[str] | None = None) -> MetricsReport:
    ids = ids or [str(i) for i in range(len(scores))]
    column: list[float | None] = list(scores)
    value = mean_value("arguments_exact_match", True, column)
    return MetricsReport(values={value.name: value}, example_ids=ids, scores={value.name: column})


def test_a_run_halfway_closes_half_the_gap() -> None:
    rng = random.Random(0)
    base = [0.0] * 200
    llm = [1.0] * 200
    tuned = [float(rng.random() < 0.5) for _ in range(200)]
    gap = gap_closed(_report(base), _report(tuned), _report(llm))
    assert gap.value == pytest.approx(sum(tuned) / 200)
    assert gap.low is not None
    assert gap.high is not None
    assert gap.low < gap.value < gap.high
    assert gap.low > 0.35
    assert gap.high < 0.65
    assert not gap.within_margin


def test_a_run_as_good_as_the_llm_is_within_its_margin() -> None:
    rng = random.Random(1)
    llm = [float(rng.random() < 0.8) for _ in range(300)]
    gap = gap_closed(_report([0.0] * 300), _report(llm), _report(llm), margin=0.02)
    assert gap.value == pytest.approx(1.0)
    assert gap.within_margin
    assert "stays within 0.02 of llm" in gap.describe("base", "tuned", "llm")


def test_examples_pair_by_id_and_only_shared_ones_count() -> None:
    base = _report([0.0, 0.0, 1.0], ["a", "b", "c"])
    tuned = _report([1.0, 0.0], ["b", "a"])
    llm = _report([1.0, 1.0, 1.0, 0.0], ["c", "b", "a", "z"])
    gap = gap_closed(base, tuned, llm)
    assert gap.n == 2
    assert gap.value == pytest.approx(0.5)  # a: 0 -> 0 of 1, b: 0 -> 1 of 1


def test_a_tie_between_base_and_llm_has_no_gap() -> None:
    gap = gap_closed(_report([1.0, 0.0]), _report([1.0, 1.0]), _report([0.0, 1.0]))
    assert gap.value is None
    assert "undefined" in gap.describe("base", "tuned", "llm")


def test_a_negative_margin_is_refused() -> None:
    with pytest.raises(ConfigError, match="margin"):
        gap_closed(_report([0.0]), _report([1.0]), _report([1.0]), margin=-0.1)


def test_the_interval_covers_the_true_share_in_most_simulations() -> None:
    covered = 0
    for seed in range(40):
        rng = random.Random(seed)
        base = [float(rng.random() < 0.3) for _ in range(150)]
        llm = [float(rng.random() < 0.9) for _ in range(150)]
        tuned = [float(rng.random() < 0.6) for _ in range(150)]
        interval = paired_bootstrap_gap(base, tuned, llm, seed=seed)
        covered += interval.low <= 0.5 <= interval.high  # true share: (0.6 - 0.3) / (0.9 - 0.3)
    assert covered >= 34  # a 95 % interval: 38 of 40 expected, 34 is far in the tail
