"""What a bake-off found: each format's runs and comparisons, the ranking by the primary metric, and the paired
difference of every pair of formats with Holm's correction over the pairs: a :class:`BakeoffResult`, which the
bake-off also writes as its JSON file."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from slmswap.bakeoff.correction import holm
from slmswap.evaluation.report import Run, prompt_mismatches
from slmswap.metrics import Comparison, MetricValue, require_better
from slmswap.metrics.scoring import SIGNIFICANCE_LEVEL

__all__ = ["BakeoffResult", "FormatOutcome", "PairComparison", "format_outcome", "rank", "versus"]

RunLabel = Literal["base", "tuned", "llm"]


class FormatOutcome(BaseModel):
    """One format's part of the bake-off: its runs' metrics and how tuned compares with base (and the LLM), or
    the error that stopped it."""

    model_config = ConfigDict(frozen=True)

    format: str
    directory: Path
    """``OUT/<format>``: its training output (``train/``), run directories and report."""
    error: str | None = None
    """What stopped the format (its traceback is in ``error.txt``); ``None``: it finished."""
    seconds: float = 0.0
    """Wall time spent on the format in the last invocation (0 for what an earlier invocation finished)."""
    metrics: dict[str, dict[str, MetricValue]] = {}
    """Run label (``base``, ``tuned``, ``llm``) -> every metric with its 95 % interval."""
    tuned_vs_base: Comparison | None = None
    """Tuned against base on the primary metric, paired by example id."""
    tuned_vs_llm: Comparison | None = None
    """Tuned against the LLM on the primary metric (with an LLM baseline)."""
    by_tool: dict[str, MetricValue] = {}
    """Tool the reference calls -> the tuned model's primary metric over those examples."""
    prompt_mismatches: int = 0
    """Examples whose prompt differed between this format's runs (0: identical prompts within the format)."""

    @property
    def ok(self) -> bool:
        """Whether the format finished (trained and evaluated)."""
        return self.error is None


class PairComparison(BaseModel):
    """Two formats' tuned models on the primary metric, paired by example id, with Holm's correction."""

    model_config = ConfigDict(frozen=True)

    a: str
    b: str
    comparison: Comparison
    """``b`` against ``a``: difference ``b - a``, its paired 95 % bootstrap interval, the exact McNemar p."""
    holm_p: float | None
    """The McNemar p-value adjusted by Holm over every pair (``None`` for a metric with no McNemar test)."""

    @property
    def significant(self) -> bool:
        """The difference holds over the whole family of pairs: the paired interval excludes zero and the
        Holm-adjusted McNemar p is below 0.05 (where the two disagree, it is not called significant)."""
        held = self.holm_p is None or self.holm_p < SIGNIFICANCE_LEVEL
        return self.comparison.interval_excludes_zero and held

    def verdict(self) -> str:
        """The pair's outcome in words: which format is better, or that they do not differ significantly."""
        if not self.significant:
            return "no significant difference"
        better, worse = (self.b, self.a) if self.comparison.difference > 0 else (self.a, self.b)
        return f"{better} better than {worse}"


class BakeoffResult(BaseModel):
    """The whole bake-off (``bakeoff.json``)."""

    model_config = ConfigDict(frozen=True)

    options: dict[str, Any]
    """The options it ran with."""
    metric: str | None
    """The primary metric (``None`` when no format finished)."""
    formats: list[FormatOutcome]
    """Every format, in the order asked for."""
    ranking: list[str]
    """The finished formats, best tuned primary metric first."""
    pairs: list[PairComparison]
    """Every pair of finished formats."""
    seconds: float
    """Wall time of this invocation."""
    report: dict[str, Path] = {}
    """The report's paths: ``markdown`` and ``html``."""

    @property
    def ok(self) -> bool:
        """Whether every format finished."""
        return all(outcome.ok for outcome in self.formats)

    def outcome(self, name: str) -> FormatOutcome:
        """The outcome of format ``name``."""
        return next(outcome for outcome in self.formats if outcome.format == name)


def versus(baseline: Run, run: Run, metric: str | None) -> Comparison:
    """``run`` against ``baseline`` on ``metric`` (``None``: argument exact match, else exact match), paired by
    example id: the comparison ``slmswap compare`` makes (paired bootstrap interval, exact McNemar test)."""
    return require_better(baseline.result.metrics, run.result.metrics, metric=metric).comparison


def format_outcome(
    name: str, directory: Path, runs: dict[RunLabel, Run], metric: str | None, seconds: float
) -> FormatOutcome:
    """A finished format's outcome from its runs (``base``, ``tuned`` and optionally ``llm``)."""
    base, tuned, llm = runs["base"], runs["tuned"], runs.get("llm")
    tuned_vs_base = versus(base, tuned, metric)
    chosen = tuned_vs_base.metric
    mismatches = sum(len(prompt_mismatches(base, other)[1]) for other in runs.values() if other is not base)
    return FormatOutcome(
        format=name,
        directory=directory,
        seconds=seconds,
        metrics={label: dict(run.result.metrics.values) for label, run in runs.items()},
        tuned_vs_base=tuned_vs_base,
        tuned_vs_llm=versus(llm, tuned, chosen) if llm is not None else None,
        by_tool={tool: values[chosen] for tool, values in tuned.result.metrics.by_tool.items() if chosen in values},
        prompt_mismatches=mismatches,
    )


def rank(tuned: dict[str, Run], metric: str) -> tuple[list[str], list[PairComparison]]:
    """The formats ordered by their tuned run's ``metric``, best first (ties by name), and every pair of them
    compared example by example, with Holm's correction over the pairs' McNemar p-values."""
    ranking = sorted(tuned, key=lambda name: (-tuned[name].result.metrics.values[metric].value, name))
    rows = [(a, b, versus(tuned[a], tuned[b], metric)) for a, b in combinations(ranking, 2)]
    tested = [k for k, (_, _, row) in enumerate(rows) if row.p_value is not None]
    adjusted = dict(zip(tested, holm([rows[k][2].p_value or 0.0 for k in tested]), strict=True))
    pairs = [PairComparison(a=a, b=b, comparison=row, holm_p=adjusted.get(k)) for k, (a, b, row) in enumerate(rows)]
    return ranking, pairs
