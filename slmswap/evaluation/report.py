"""Reports of one or more evaluation runs: what they show, and the Markdown; the self-contained HTML page with
charts (:mod:`slmswap.evaluation.html_report`) is rendered from the same data, and
:func:`~slmswap.evaluation.report_files.write_report` writes both.

A report needs only the files a run leaves behind: the records JSONL (and the results JSON, when kept), and
optionally the training history (:mod:`slmswap.trained.history`) for the training curves. It shows every
metric with its 95 % interval per run, the paired comparison of each run against the first (the baseline),
the breakdown of parse failures, where each run fails (every metric per tool and per BFCL category, and the issue
kinds with their counts: :attr:`MetricsReport.by_tool <slmswap.metrics.MetricsReport.by_tool>`,
``by_category`` and ``issue_counts`` of ``run.result.metrics``), and the worst examples with their raw output for
a human to read.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._files import read_json_model
from slmswap.errors import ConfigError
from slmswap.evaluation.runner import EvalRecord, EvaluationResult, read_records
from slmswap.metrics import (
    Breakdown,
    Comparison,
    MetricsReport,
    MetricValue,
    compare,
    count_issue_kinds,
    default_metrics,
    mean_value,
)
from slmswap.metrics.scoring import SIGNIFICANCE_LEVEL

if TYPE_CHECKING:
    from slmswap.trained.history import TrainingHistory

__all__ = [
    "SIGNIFICANCE_NOTE",
    "Run",
    "load_run",
    "prompt_mismatches",
    "report_markdown",
    "report_summary",
    "significance",
]

_WORST = 5
_GROUPS = 20
"""Groups shown per breakdown table (the largest first); the results file holds them all."""
_BINARY = {metric.name: metric.binary for metric in default_metrics()}
SIGNIFICANCE_NOTE = (
    "significant: the paired 95 % bootstrap interval of the difference excludes zero and, for pass/fail metrics, "
    "the exact McNemar test agrees (p < 0.05); where the two disagree, the difference is not called significant"
)
"""What ``significant`` means, wherever a report says it."""


@dataclass(frozen=True)
class Run:
    """One evaluation run: its results and its per-example records."""

    label: str
    result: EvaluationResult
    records: list[EvalRecord]
    has_results: bool = True
    """Whether the results file was read (without it, the format and system prompt are unknown)."""


def load_run(label: str, records: Path, results: Path | None = None) -> Run:
    """A run read back from its records JSONL, and its results JSON when there is one.

    Every figure is computed from the records the run shows: each metric's mean with its bootstrap interval, the
    per-example scores the paired comparisons use, and the issue counts. The results file is a cache, checked
    against them: it says which examples were scored (the run shows their records, in its order) and adds what
    the records alone cannot say (the format and system prompt, the micro F1 figures of ``argument_f1``, the
    per-tool and per-category breakdowns). Intervals that differ while the means agree (a results file written
    by a version that drew the bootstrap otherwise) give a warning, and the records' intervals are shown.
    Without it, every record in the file counts.

    Raises:
        ConfigError: The results file disagrees with the records: it scores an example they hold no record of,
            or any figure it holds differs from the one the records give.
        DataError: The records file holds two different records for one id (see :func:`read_records`).
    """
    kept = read_records(records)
    if results is None:
        result = EvaluationResult(
            format="(from records)",
            format_version="?",
            system_prompt_source="(not recorded in the records file)",
            examples=len(kept),
            reused=0,
            skipped={},
            metrics=_metrics_of(kept),
        )
        return Run(label, result, kept, has_results=False)
    cached = read_json_model(EvaluationResult, results)
    scored = cached.metrics.example_ids
    recorded = {record.id: record for record in kept}
    missing = [example_id for example_id in scored if example_id not in recorded]
    if missing:
        raise ConfigError(
            f"{results} scores {len(scored)} example(s), {len(missing)} of which {records} holds no record of "
            f"({', '.join(map(repr, missing[:3]))}): the two files are from different runs. Run the "
            "evaluation again (it resumes and rewrites the results), or delete the results file to report "
            "from the records alone"
        )
    kept = [recorded[example_id] for example_id in scored]  # the records the results scored, in their order
    metrics = _metrics_of(kept, seed=cached.seed, cache=cached.metrics)
    disagreement = _disagreement(cached, metrics)
    if disagreement:
        raise ConfigError(
            f"{results} disagrees with {records}: {disagreement}. Run the evaluation again (it resumes from the "
            "records and rewrites the results), or delete the results file to report from the records alone"
        )
    drift = _interval_drift(cached.metrics, metrics)
    if drift:
        warnings.warn(
            f"{results}: {drift}, though the means agree with {records} (written by another version?); the "
            "intervals shown are those of the records",
            RuntimeWarning,
            stacklevel=2,
        )
    return Run(label, cached.model_copy(update={"metrics": metrics}), kept)


def _metrics_of(records: list[EvalRecord], *, seed: int = 0, cache: MetricsReport | None = None) -> MetricsReport:
    """The metrics of ``records``, aggregated from the scores each keeps (means with bootstrap intervals, for
    ``seed``); what a record cannot give (micro figures, per-tool and per-category breakdowns: they need the
    reference answers) comes from ``cache``, the results file's metrics, when there is one."""
    values: dict[str, MetricValue] = {}
    for name in dict.fromkeys(name for record in records for name in record.scores):
        column = [record.scores.get(name) for record in records]
        applicable = [score for score in column if score is not None]
        if not applicable:
            continue
        cached = cache.values.get(name) if cache is not None else None
        binary = cached.binary if cached is not None else _BINARY.get(name, all(s in (0.0, 1.0) for s in applicable))
        value = mean_value(name, binary, column, seed)
        values[name] = value.model_copy(update={"extra": cached.extra}) if cached is not None else value
    return MetricsReport(
        values=values,
        example_ids=[record.id for record in records],
        scores={name: [record.scores.get(name) for record in records] for name in values},
        by_tool=cache.by_tool if cache is not None else {},
        by_category=cache.by_category if cache is not None else {},
        issue_counts=count_issue_kinds(record.issues for record in records),
    )


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _disagreement(cached: EvaluationResult, computed: MetricsReport) -> str | None:
    """Where the results file's figures differ from those computed from the records (``None``: nowhere)."""
    held = cached.metrics
    if cached.examples != len(computed.example_ids):
        return f"it counts {cached.examples} example(s), and scores {len(computed.example_ids)}"
    for name in dict.fromkeys([*held.scores, *computed.scores]):
        if name not in computed.scores:
            return f"it scores {name}, which no record scores"
        if name not in held.scores:
            return f"the records score {name}, which it does not"
        for example_id, said, recorded in zip(
            computed.example_ids, held.scores[name], computed.scores[name], strict=False
        ):
            if not _same(said, recorded):
                return f"it scores {name} = {said} for {example_id!r}, the record says {recorded}"
        if len(held.scores[name]) != len(computed.example_ids):
            return f"it holds {len(held.scores[name])} {name} score(s) for {len(computed.example_ids)} example(s)"
    for name in dict.fromkeys([*held.values, *computed.values]):
        a, b = held.values.get(name), computed.values.get(name)
        if a is None or b is None:
            return f"it gives {name} a value, the records none" if b is None else f"it gives {name} no value"
        if a.n != b.n or not _same(a.value, b.value):
            return f"it gives {name} = {a.value:.4g} (n={a.n}), the records {b.value:.4g} (n={b.n})"
        if a.binary and not all(s in (0.0, 1.0) for s in computed.scores[name] if s is not None):
            return f"it calls {name} pass/fail, and the records score it between 0 and 1"
    if dict(held.issue_counts) != dict(computed.issue_counts):
        return f"it counts the issue kinds {held.issue_counts}, the records {computed.issue_counts}"
    return None


def _interval_drift(held: MetricsReport, computed: MetricsReport) -> str | None:
    """The first metric whose interval in the results file differs from the records' (``None``: none does)."""
    for name, b in computed.values.items():
        a = held.values[name]  # the metrics agree (_disagreement)
        if not (_same(a.low, b.low) and _same(a.high, b.high)):
            return f"its interval of {name} is [{a.low:.4g}, {a.high:.4g}], the records' [{b.low:.4g}, {b.high:.4g}]"
    return None


def _comparisons(runs: list[Run]) -> dict[str, list[Comparison]]:
    if len(runs) < 2:
        return {}
    baseline = runs[0].result.metrics
    return {run.label: compare(baseline, run.result.metrics) for run in runs[1:]}


def _metric_names(runs: list[Run]) -> list[str]:
    return list(dict.fromkeys(name for run in runs for name in run.result.metrics.values))


def _worst(run: Run) -> list[EvalRecord]:
    def badness(record: EvalRecord) -> tuple[float, str]:
        applicable = [s for s in record.scores.values() if s is not None]
        return (sum(applicable) / len(applicable) if applicable else 0.0, record.id)

    return sorted(run.records, key=badness)[:_WORST]


def _failures(run: Run) -> Counter[str]:
    return Counter(record.failure or "ok" for record in run.records)


def significance(row: Comparison) -> str:
    """Whether ``row``'s difference is significant, in words that name the tests (see :data:`SIGNIFICANCE_NOTE`):
    ``yes``, ``no``, or ``no`` with what each test said when they disagree."""
    mcnemar = row.p_value is not None and row.p_value < SIGNIFICANCE_LEVEL
    if row.significant:
        return "yes (interval and McNemar)" if row.p_value is not None else "yes (interval)"
    if row.interval_excludes_zero and not mcnemar:
        return f"no: the interval excludes 0, McNemar does not (p = {row.p_value:.2g})"
    if mcnemar:
        return "no: McNemar p < 0.05, but the interval reaches 0"
    return "no"


def prompt_mismatches(baseline: Run, run: Run) -> tuple[int, list[str]]:
    """Prompt parity of two runs: how many examples they share, and the ids whose prompts differ (another format,
    system prompt or chat template rendered them)."""
    hashes = {record.id: record.prompt_hash for record in baseline.records}
    shared = [record for record in run.records if record.id in hashes]
    return len(shared), [record.id for record in shared if record.prompt_hash != hashes[record.id]]


def _parity(runs: list[Run]) -> str:
    first = runs[0].result
    where = f"format `{first.format}` (version {first.format_version}), system prompt: {first.system_prompt_source}"
    problems = []
    for run in runs[1:]:
        shared, differing = prompt_mismatches(runs[0], run)
        if not shared:
            problems.append(f"{run.label} shares no example with {runs[0].label}")
        elif differing:
            problems.append(f"{run.label}: {len(differing)} of {shared} shared prompts differ from {runs[0].label}")
    if problems:
        return f"**Prompt parity broken**: {'; '.join(problems)}. First run: {where}."
    if len(runs) == 1:
        return f"One run: {where}."
    return f"Every run was given the very same prompts (checked prompt by prompt): {where}."


def _decoding(runs: list[Run]) -> list[str]:
    """Which runs were decoded within the format's grammar (nothing when none was)."""
    if not any(run.result.constrained for run in runs):
        return []
    each = ", ".join(f"{run.label} {'constrained' if run.result.constrained else 'unconstrained'}" for run in runs)
    note = (
        " Every run was constrained alike, which is fair: a deployed swap can decode the same way, with a serving "
        "engine's guided decoding (vLLM's structured outputs)."
        if all(run.result.constrained for run in runs)
        else " The runs were decoded differently: their difference is partly the decoding's."
    )
    return ["", f"Decoding: {each} (constrained: within the format's grammar for the offered tools).{note}"]


def report_summary(runs: list[Run]) -> str:
    """The metric table (95 % intervals) and each run's paired comparison with the first, as Markdown."""
    lines = [_parity(runs), *_decoding(runs), "", "## Metrics (95 % bootstrap intervals)", ""]
    names = _metric_names(runs)
    lines.append("| metric | " + " | ".join(run.label for run in runs) + " |")
    lines.append("|---|" + "---|" * len(runs))
    for name in names:
        cells = []
        for run in runs:
            value = run.result.metrics.values.get(name)
            cells.append(f"{value.value:.3f} [{value.low:.3f}, {value.high:.3f}] (n={value.n})" if value else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for label, rows in _comparisons(runs).items():
        lines += ["", f"## {label} vs {runs[0].label} (paired)", ""]
        lines.append("| metric | difference | 95 % interval | relative | McNemar p | significant |")
        lines.append("|---|---|---|---|---|---|")
        for row in rows:
            relative = f"{row.relative:+.1%}" if row.relative is not None else "–"
            p_value = f"{row.p_value:.4g}" if row.p_value is not None else "–"
            lines.append(
                f"| {row.metric} | {row.difference:+.3f} | [{row.low:+.3f}, {row.high:+.3f}] | {relative} | "
                f"{p_value} | {significance(row)} |"
            )
        lines += ["", f"_{SIGNIFICANCE_NOTE}._"]
    return "\n".join(lines) + "\n"


def breakdown_rows(breakdown: Breakdown, names: list[str]) -> tuple[list[str], list[list[str]], int]:
    """A breakdown as a table: the metric columns any group has, one row per group (name, examples, values;
    ``–`` where a metric does not apply), the largest :data:`_GROUPS` groups first, and how many were left out."""
    columns = [name for name in names if any(name in values for values in breakdown.values())]
    sizes = {group: max(value.n for value in values.values()) for group, values in breakdown.items() if values}
    shown = sorted(sizes, key=lambda group: (-sizes[group], group))[:_GROUPS]
    rows = [
        [group, str(sizes[group])]
        + [f"{breakdown[group][name].value:.2f}" if name in breakdown[group] else "–" for name in columns]
        for group in shown
    ]
    return columns, rows, len(sizes) - len(shown)


def _breakdown_table(title: str, breakdown: Breakdown, names: list[str]) -> list[str]:
    if not breakdown:
        return []
    columns, rows, left_out = breakdown_rows(breakdown, names)
    lines = ["", f"### {title}", "", f"| {title.split()[-1]} | examples | " + " | ".join(columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if left_out:
        lines.append(f"\n{left_out} smaller group(s) left out here; the results file has them all.")
    return lines


def _where_it_fails(run: Run, names: list[str]) -> list[str]:
    metrics = run.result.metrics
    lines = ["", f"## Where it fails: {run.label}"]
    lines += _breakdown_table("By tool", metrics.by_tool, names)
    lines += _breakdown_table("By BFCL category", metrics.by_category, names)
    if not metrics.by_tool:
        lines += ["", "(no per-tool breakdown: it needs the results file)"]
    kinds = ", ".join(f"{kind}: {count}" for kind, count in metrics.issue_counts.items()) or "none"
    lines += ["", f"Issue kinds (examples showing each): {kinds}"]
    return lines


def report_markdown(
    runs: list[Run], *, title: str = "slmswap evaluation report", history: TrainingHistory | None = None
) -> str:
    """The report as Markdown (with the training history's numbers, when one is given)."""
    lines = [f"# {title}", "", report_summary(runs).rstrip("\n")]
    if history is not None and history.entries:
        lines += ["", "## Training", "", *_history_table(history)]
    lines += ["", "## Parse failures (strict)", ""]
    for run in runs:
        breakdown = ", ".join(f"{reason}: {count}" for reason, count in sorted(_failures(run).items()))
        lines.append(f"- {run.label}: {breakdown}")
    names = _metric_names(runs)
    for run in runs:
        lines += _where_it_fails(run, names)
    for run in runs:
        lines += ["", f"## Worst examples: {run.label}", ""]
        for record in _worst(run):
            lines.append(f"- `{record.id}` — {'; '.join(record.issues) or 'no issue'}")
            lines.append(f"  ```\n  {record.raw_output[:300]!r}\n  ```")
    return "\n".join(lines) + "\n"


def _history_table(history: TrainingHistory) -> list[str]:
    """Step by step, the loss and every task metric logged (a blank where a step did not log it)."""
    names = [name for name in ("loss", *history.task_metrics) if name in history.names]
    columns = {name: dict(history.series(name)) for name in names}
    steps = sorted({step for column in columns.values() for step in column})
    lines = ["| step | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for step in steps:
        cells = [f"{columns[name][step]:.4g}" if step in columns[name] else "" for name in names]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return lines
