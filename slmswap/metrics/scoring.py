"""Scoring a set of predictions with several metrics, and comparing two scored runs on the same examples."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from slmswap.errors import ConfigError
from slmswap.metrics.base import Metric, MetricBase, MetricValue, ScoredExample, mean_value
from slmswap.metrics.bfcl import BfclAstMatch
from slmswap.metrics.stats import mcnemar_exact, paired_bootstrap_difference
from slmswap.metrics.task import (
    Abstention,
    ArgumentF1,
    ArgumentsExactMatch,
    CallPrecision,
    CallRecall,
    ExactMatch,
    ToolNameMatch,
    ValidCall,
    ValidOutput,
    count_issue_kinds,
    issues,
)

__all__ = [
    "ACCURACY_METRICS",
    "NO_CALL",
    "Breakdown",
    "Comparison",
    "MetricsReport",
    "Verdict",
    "compare",
    "default_metrics",
    "metric_names",
    "require_better",
    "score_examples",
]

SIGNIFICANCE_LEVEL = 0.05
"""The level below which a McNemar p-value counts as significant (the intervals are 95 %: the same level)."""

ACCURACY_METRICS = ("arguments_exact_match", "exact_match")
"""The metric that stands for held-out task accuracy: argument exact match when the data has tool calls,
else exact match."""


def default_metrics() -> list[Metric]:
    """The metrics, headline first: valid call and abstention (calls and no-calls scored apart), exact match,
    tool-name match, argument exact match, argument F1, the BFCL AST match (only on BFCL examples), call
    precision and recall, and valid output (the output parses; prose does too)."""
    return [
        ValidCall(),
        Abstention(),
        ExactMatch(),
        ToolNameMatch(),
        ArgumentsExactMatch(),
        ArgumentF1(),
        BfclAstMatch(),
        CallPrecision(),
        CallRecall(),
        ValidOutput(),
    ]


def metric_names(metrics: Sequence[Metric] | None = None) -> list[str]:
    """The names ``metrics`` (default: :func:`default_metrics`) score under."""
    return [metric.name for metric in (metrics if metrics is not None else default_metrics())]


NO_CALL = "(no call)"
"""The tool group of the examples whose reference makes no call."""

Breakdown = dict[str, dict[str, MetricValue]]
"""Group name → metric name → the metric's aggregate over the group's examples."""


class MetricsReport(BaseModel):
    """Aggregates per metric, plus every example's scores (so two runs can be compared example by example), and
    where it fails: every metric per tool and per BFCL category, and the issue kinds with their counts.

    A metric that applies to none of the examples (of a group) is left out."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, MetricValue]
    example_ids: list[str]
    scores: dict[str, list[float | None]]
    """Per metric, one score per example in ``example_ids`` order (``None``: not applicable)."""
    by_tool: Breakdown = {}
    """Per tool the reference calls (an example calling two tools counts in both; :data:`NO_CALL` for references
    without calls): every metric over those examples."""
    by_category: Breakdown = {}
    """Per BFCL category (``metadata["bfcl_category"]``), when the examples have one."""
    issue_counts: dict[str, int] = {}
    """Per issue kind (:func:`~slmswap.metrics.issue_kind`: ``missing_fields``, ``extra_fields``,
    ``value_mismatch``, ``unknown_tool``, ``no_call``, ...), how many examples show it; most frequent first."""


def score_examples(
    examples: Sequence[ScoredExample],
    metrics: Sequence[Metric] | None = None,
    *,
    ids: Sequence[str] | None = None,
    seed: int = 0,
) -> MetricsReport:
    """Score every example with every metric and aggregate (95 % bootstrap intervals, deterministic per seed)."""
    metrics = list(metrics) if metrics is not None else default_metrics()
    example_ids = list(ids) if ids is not None else [str(i) for i in range(len(examples))]
    if len(example_ids) != len(examples):
        raise ValueError(f"{len(example_ids)} ids for {len(examples)} examples")
    if len(set(example_ids)) != len(example_ids):
        raise ValueError("example ids must be unique")
    scores = {metric.name: [metric.score(example) for example in examples] for metric in metrics}
    tools = [sorted({call.name for call in e.reference.tool_calls}) or [NO_CALL] for e in examples]
    categories = [[str(e.metadata["bfcl_category"])] if "bfcl_category" in e.metadata else [] for e in examples]
    return MetricsReport(
        values=_aggregates(metrics, examples, scores, seed),
        example_ids=example_ids,
        scores={name: column for name, column in scores.items() if any(s is not None for s in column)},
        by_tool=_break_down(metrics, examples, scores, tools, seed),
        by_category=_break_down(metrics, examples, scores, categories, seed),
        issue_counts=count_issue_kinds(issues(example) for example in examples),
    )


def _aggregates(
    metrics: Sequence[Metric],
    examples: Sequence[ScoredExample],
    scores: dict[str, list[float | None]],
    seed: int,
) -> dict[str, MetricValue]:
    """Each metric's aggregate over ``examples`` (a metric applying to none of them is left out)."""
    values: dict[str, MetricValue] = {}
    for metric in metrics:
        column = scores[metric.name]
        if all(score is None for score in column):
            continue  # the metric applies to none of these examples (e.g. BFCL AST on other data)
        if isinstance(metric, MetricBase):
            values[metric.name] = metric.aggregate(examples, column, seed)
        else:  # a user metric following the protocol only
            values[metric.name] = mean_value(metric.name, metric.binary, column, seed)
    return values


def _break_down(
    metrics: Sequence[Metric],
    examples: Sequence[ScoredExample],
    scores: dict[str, list[float | None]],
    groups: Sequence[Sequence[str]],
    seed: int,
) -> Breakdown:
    members: dict[str, list[int]] = {}
    for index, labels in enumerate(groups):
        for label in labels:
            members.setdefault(label, []).append(index)
    return {
        label: _aggregates(
            metrics,
            [examples[i] for i in indices],
            {name: [column[i] for i in indices] for name, column in scores.items()},
            seed,
        )
        for label, indices in sorted(members.items())
    }


class Comparison(BaseModel):
    """Run ``b`` against run ``a`` on one metric, over the examples both scored."""

    model_config = ConfigDict(frozen=True)

    metric: str
    n: int
    a: float
    b: float
    difference: float
    """``b - a``."""
    relative: float | None
    """``(b - a) / a``; ``None`` when ``a`` is 0."""
    low: float
    high: float
    """95 % paired-bootstrap interval of the difference."""
    p_value: float | None
    """Exact McNemar p-value, for binary metrics."""

    @property
    def interval_excludes_zero(self) -> bool:
        """Whether the 95 % paired-bootstrap interval of the difference excludes zero."""
        return self.low > 0 or self.high < 0

    @property
    def significant(self) -> bool:
        """Whether the difference is significant at the 5 % level: its paired-bootstrap interval excludes zero
        and, for a binary metric, the exact McNemar test agrees (``p_value < 0.05``). Where the two tests
        disagree, the difference is not called significant."""
        return self.interval_excludes_zero and (self.p_value is None or self.p_value < SIGNIFICANCE_LEVEL)


def compare(a: MetricsReport, b: MetricsReport, *, seed: int = 0) -> list[Comparison]:
    """Compare two runs metric by metric, pairing examples by id (only examples both runs scored count)."""
    position_b = {example_id: k for k, example_id in enumerate(b.example_ids)}
    comparisons = []
    for name, value in a.values.items():
        if name not in b.scores:
            continue
        pairs = [
            (score, b.scores[name][position_b[example_id]])
            for example_id, score in zip(a.example_ids, a.scores[name], strict=True)
            if example_id in position_b
        ]
        xs = [x for x, y in pairs if x is not None and y is not None]
        ys = [y for x, y in pairs if x is not None and y is not None]
        if not xs:
            continue
        mean_a, mean_b = sum(xs) / len(xs), sum(ys) / len(ys)
        interval = paired_bootstrap_difference(xs, ys, seed=seed)
        comparisons.append(
            Comparison(
                metric=name,
                n=len(xs),
                a=mean_a,
                b=mean_b,
                difference=mean_b - mean_a,
                relative=(mean_b - mean_a) / mean_a if mean_a else None,
                low=interval.low,
                high=interval.high,
                p_value=mcnemar_exact(xs, ys) if value.binary else None,
            )
        )
    return comparisons


class Verdict(BaseModel):
    """Whether a run beats its baseline on one metric, with the comparison that decided it."""

    model_config = ConfigDict(frozen=True)

    better: bool
    """The difference is positive and significant (:attr:`Comparison.significant`)."""
    comparison: Comparison

    def describe(self, baseline: str, run: str) -> str:
        """One line saying what was decided, with the difference and its interval."""
        row = self.comparison
        numbers = f"{row.difference:+.3f} [{row.low:+.3f}, {row.high:+.3f}]"
        tests = "paired 95 % interval" + (f", McNemar p = {row.p_value:.4g}" if row.p_value is not None else "")
        if self.better:
            return f"{run} beats {baseline} on {row.metric} significantly: {numbers} ({tests})"
        return f"{run} does not beat {baseline} on {row.metric} significantly: {numbers} ({tests})"


def require_better(baseline: MetricsReport, run: MetricsReport, *, metric: str | None = None, seed: int = 0) -> Verdict:
    """Judge ``run`` against ``baseline`` on ``metric`` (default: the first of :data:`ACCURACY_METRICS` both
    runs scored): better only when the difference is positive and significant (its paired 95 % interval excludes
    zero and, for a binary metric, the McNemar test agrees).

    Raises:
        ConfigError: When neither run pair scored the metric.
    """
    rows = {row.metric: row for row in compare(baseline, run, seed=seed)}
    wanted = [metric] if metric else list(ACCURACY_METRICS)
    chosen = next((name for name in wanted if name in rows), None)
    if chosen is None:
        raise ConfigError(f"no comparable metric among {wanted}; available: {sorted(rows)}")
    row = rows[chosen]
    return Verdict(better=row.difference > 0 and row.significant, comparison=row)
