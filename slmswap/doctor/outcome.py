"""Checks on what training and evaluation produced: the trained format, held-out accuracy, sample outputs, and
a baseline run on the very same prompts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from slmswap.doctor.result import CheckResult, Status, worst
from slmswap.evaluation.report import Run, prompt_mismatches
from slmswap.evaluation.runner import EvalRecord
from slmswap.formats.base import ChatFormat
from slmswap.metrics import ACCURACY_METRICS, compare
from slmswap.trained.manifest import Manifest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["JUDGED_SIZE", "accuracy", "outcome_checks", "sample_verdict"]


def accuracy(run: Run) -> tuple[str, float] | None:
    """A run's task accuracy (metric name, value), or ``None`` when it has neither accuracy metric."""
    for name in ACCURACY_METRICS:
        value = run.result.metrics.values.get(name)
        if value is not None:
            return name, value.value
    return None


def _trained_format(
    manifest: Manifest | None,
    fmt: ChatFormat | None,
    tokenizer: PreTrainedTokenizerBase | None,
    runs: Sequence[Run],
) -> CheckResult:
    check = "trained_format"
    if manifest is None:
        return CheckResult(check, Status.SKIP, "no training output directory given")
    fix = "evaluate with the format the model was trained with (slmswap eval restores it from the manifest)"
    problems: list[str] = []
    if fmt is not None and tokenizer is not None:
        problems.extend(f"the setup checked here differs: {problem}" for problem in manifest.mismatches(fmt, tokenizer))
    unknown = [run.label for run in runs if not run.has_results]
    for run in runs:
        if not run.has_results:
            continue  # an interrupted run: its records do not say which format rendered them
        result = run.result
        if (result.format, result.format_version) != (manifest.format, manifest.format_version):
            problems.append(
                f"run {run.label!r} was evaluated with format {result.format!r} v{result.format_version}, but the "
                f"model was trained with {manifest.format!r} v{manifest.format_version}"
            )
        if result.chat_template_sha256 not in (None, manifest.chat_template_sha256):
            problems.append(f"run {run.label!r} rendered its prompts with another chat template than training")
    if problems:
        return CheckResult(check, Status.FAIL, problems[0], fix, tuple(problems[1:]))
    if unknown:
        return CheckResult(
            check,
            Status.WARN,
            f"run(s) {', '.join(map(repr, unknown))} have no results.json (interrupted?): their format is unknown",
            "finish the evaluation (running it again resumes) so its results file records the format",
        )
    compared = (["the setup checked here"] if fmt is not None and tokenizer is not None else []) + (
        [f"{len(runs)} evaluation run{'s' if len(runs) > 1 else ''}"] if runs else []
    )
    trained = f"trained with {manifest.format!r} v{manifest.format_version}"
    if not compared:
        return CheckResult(check, Status.PASS, f"{trained} (no setup or run given to compare it with)")
    verb = "agrees" if compared == ["the setup checked here"] or compared == ["1 evaluation run"] else "agree"
    return CheckResult(check, Status.PASS, f"{trained}; {' and '.join(compared)} {verb} with it")


_LEARNT = 0.1
"""The smallest held-out accuracy taken as a model having learnt something of its task."""

_CHANCE = 0.05
"""How rarely a model of accuracy ``_LEARNT`` may score 0 for a 0 to fail ``task_accuracy``."""

JUDGED_SIZE = math.ceil(math.log(_CHANCE) / math.log(1 - _LEARNT))
"""The fewest held-out examples on which an accuracy of 0 is judged (29): on fewer, a model right one time in
ten scores 0 more often than one time in twenty, so 0 says nothing and ``task_accuracy`` is not judged."""


def _task_accuracy(runs: Sequence[Run]) -> CheckResult:
    check = "task_accuracy"
    if not runs:
        return CheckResult(check, Status.SKIP, "no evaluation run given")
    statuses, lines = [], []
    for run in runs:
        found = accuracy(run)
        if found is None:
            statuses.append(Status.WARN)
            lines.append(f"{run.label}: no accuracy metric (exact_match, arguments_exact_match) in this run")
            continue
        name, value = found
        n = run.result.metrics.values[name].n
        line = f"{run.label}: {name} = {value:.3f} on {n} held-out examples"
        if value == 0 and n < JUDGED_SIZE:
            statuses.append(Status.SKIP)
            chance = (1 - _LEARNT) ** n
            lines.append(
                f"{line}, not judged at this size (a model right one time in ten scores 0 on {n} examples "
                f"{chance:.0%} of the time; {JUDGED_SIZE} are needed)"
            )
            continue
        statuses.append(Status.PASS if value > 0 else Status.FAIL)
        lines.append(line)
    judged = [status for status in statuses if status is not Status.SKIP]
    status = worst(judged) if judged else Status.SKIP
    fix = (
        "a model scoring 0 learnt the wrong thing whatever its loss did: run the setup checks (fake role tokens, "
        "untrained end-of-turn) and read the sample outputs"
    )
    return CheckResult(check, status, "; ".join(lines), fix if status in (Status.WARN, Status.FAIL) else "")


def _sample_outputs(runs: Sequence[Run], samples: int) -> CheckResult:
    check = "sample_outputs"
    if not runs:
        return CheckResult(check, Status.SKIP, "no evaluation run given")
    details = []
    for run in runs:
        for record in run.records[:samples]:
            output = record.raw_output if len(record.raw_output) <= 240 else record.raw_output[:240] + "…"
            details.append(f"{run.label} #{record.id} ({sample_verdict(record)}): {output!r}")
    return CheckResult(
        check,
        Status.PASS,
        "read these raw outputs (parsed or not, then correct or wrong against the reference): metrics summarise, "
        "outputs show",
        details=tuple(details),
    )


def _decoding(run: Run) -> str:
    return "constrained" if run.result.constrained else "unconstrained"


def sample_verdict(record: EvalRecord) -> str:
    """One output judged against its reference: ``not parsed: REASON``, ``parsed, correct``, ``parsed, wrong:
    FIRST ISSUE``, or ``parsed`` where no accuracy metric applies."""
    if not record.ok:
        return f"not parsed: {record.failure}"
    score = next((record.scores[name] for name in ACCURACY_METRICS if record.scores.get(name) is not None), None)
    if score is None:
        return "parsed"
    if score >= 1.0:
        return "parsed, correct"
    return "parsed, wrong: " + (record.issues[0] if record.issues else "differs from the reference")


def _baseline_parity(runs: Sequence[Run], baseline: Run | None) -> CheckResult:
    check = "baseline_parity"
    if baseline is None:
        return CheckResult(
            check,
            Status.WARN,
            "no baseline run given (and none named base, baseline or llm next to the runs): nothing says the "
            "small model is as good as what it replaces",
            "evaluate the LLM (or the base model) on the same data with the same format (slmswap eval --api-base "
            "...) and name it with --baseline DIR",
        )
    if not runs:
        return CheckResult(check, Status.SKIP, "a baseline but no run to compare it with")
    fix = "evaluate both with the same data, format, system prompt and chat template"
    for run in runs:
        shared, differing = prompt_mismatches(baseline, run)
        if not shared:
            return CheckResult(check, Status.FAIL, f"{run.label!r} and the baseline share no example", fix)
        if differing:
            return CheckResult(
                check,
                Status.FAIL,
                f"{len(differing)} of {shared} prompts differ between {baseline.label!r} and {run.label!r} "
                "(format, system prompt or template)",
                fix,
                tuple(f"example {example_id}" for example_id in differing[:5]),
            )
        both = baseline.has_results and run.has_results
        if both and baseline.result.constrained != run.result.constrained:
            return CheckResult(
                check,
                Status.FAIL,
                f"decoding differs: {_decoding(baseline)} (baseline) vs {_decoding(run)} ({run.label!r}); the "
                "comparison mixes what the model knows with what the grammar enforces",
                "evaluate both with --constrained, or both without",
            )
        if both and baseline.result.system_prompt_source != run.result.system_prompt_source:
            return CheckResult(
                check,
                Status.FAIL,
                f"system prompts differ: {baseline.result.system_prompt_source!r} (baseline) vs "
                f"{run.result.system_prompt_source!r}",
                fix,
            )
    return CheckResult(
        check,
        Status.PASS,
        f"baseline {baseline.label!r} was given the very same prompts as " + ", ".join(repr(run.label) for run in runs),
    )


def _abstention(runs: Sequence[Run], baseline: Run | None) -> CheckResult:
    """The tuned model must not call tools where it should not more often than the baseline (paired)."""
    check = "abstention"
    if baseline is None or not runs:
        return CheckResult(check, Status.SKIP, "needs a baseline run and a run to compare with it")
    if "abstention" not in baseline.result.metrics.scores:
        return CheckResult(check, Status.SKIP, "no example where the reference makes no call while tools are offered")
    problems, lines = [], []
    for run in runs:
        row = next(
            (row for row in compare(baseline.result.metrics, run.result.metrics) if row.metric == "abstention"), None
        )
        if row is None:
            continue
        lines.append(f"{run.label}: abstention {row.b:.2f} vs {row.a:.2f} for {baseline.label} (n={row.n})")
        if row.difference < 0 and row.significant:
            base = dict(
                zip(baseline.result.metrics.example_ids, baseline.result.metrics.scores["abstention"], strict=True)
            )
            tuned = zip(run.result.metrics.example_ids, run.result.metrics.scores["abstention"], strict=True)
            worse = [example_id for example_id, score in tuned if score == 0.0 and base.get(example_id) == 1.0]
            problems.append(
                f"{run.label} abstains less than {baseline.label}: {row.difference:+.2f} "
                f"[{row.low:+.2f}, {row.high:+.2f}] on {row.n} no-call examples; now calling on "
                + ", ".join(map(repr, worse[:5]))
                + (f" and {len(worse) - 5} more" if len(worse) > 5 else "")
            )
    if problems:
        return CheckResult(
            check,
            Status.WARN,
            problems[0],
            "train on examples that answer without a call where no tool fits (as many as the task will see), and "
            "read the calls listed here",
            tuple(problems[1:]),
        )
    if not lines:
        return CheckResult(check, Status.SKIP, "no run shares a no-call example with the baseline")
    return CheckResult(check, Status.PASS, "no significant drop in abstention: " + "; ".join(lines))


def outcome_checks(
    *,
    manifest: Manifest | None,
    fmt: ChatFormat | None,
    tokenizer: PreTrainedTokenizerBase | None,
    runs: Sequence[Run],
    baseline: Run | None,
    samples: int,
) -> list[CheckResult]:
    """The trained format against the evaluation's, accuracy > 0 (judged on ``JUDGED_SIZE`` examples or more),
    sample outputs, prompt parity, and abstention against the baseline's."""
    return [
        _trained_format(manifest, fmt, tokenizer, runs),
        _task_accuracy(runs),
        _sample_outputs(runs, samples),
        _baseline_parity(runs, baseline),
        _abstention(runs, baseline),
    ]
