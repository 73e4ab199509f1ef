"""The doctor on things named by path, as ``slmswap doctor`` names them: a training job, data, a model, a
format, a training output, evaluation runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from slmswap.data.named import load_data
from slmswap.doctor.checks import diagnose
from slmswap.doctor.result import DoctorReport
from slmswap.evaluation.rundir import RECORDS_FILE, load_run_dir
from slmswap.formats.registry import resolve_format
from slmswap.schema import Conversation
from slmswap.templates.tokenize import TokenizeOptions
from slmswap.train.job import TrainJob
from slmswap.trained.manifest import is_trained, setup_for

__all__ = ["BASELINE_NAMES", "diagnose_paths", "find_baseline"]

BASELINE_NAMES = ("base", "baseline", "llm")
"""The names of a run directory taken as the baseline when it sits next to a run and no baseline is named (the
demo writes ``runs/base`` next to ``runs/tuned``)."""


def find_baseline(runs: Sequence[str | Path]) -> Path | None:
    """The run directory next to one of ``runs`` named as in :data:`BASELINE_NAMES` (not one of ``runs``)."""
    given = {Path(run).resolve() for run in runs}
    for run in runs:
        for name in BASELINE_NAMES:
            candidate = Path(run).resolve().parent / name
            if candidate not in given and (candidate / RECORDS_FILE).is_file():
                return candidate
    return None


def diagnose_paths(
    *,
    config: str | Path | None = None,
    data: str | None = None,
    model: str | None = None,
    format: str | None = None,
    max_length: int | None = None,
    output: str | Path | None = None,
    runs: Sequence[str | Path] = (),
    baseline: str | Path | None = None,
    samples: int = 3,
    api_base: str | None = None,
    api_model: str | None = None,
) -> DoctorReport:
    """Run :func:`~slmswap.diagnose` on what these paths hold.

    The setup checks run when a job (``config``), data, a model, a format or a training output is named; a
    training output's own tokenizer and format are checked unless another model is named, and a job whose
    output directory holds a trained model brings it along. The outcome checks run when an output or runs are
    named. ``data`` is a data file or ``demo:train``; ``max_length`` overrides the job's token limit;
    ``api_base`` names a server running the exported ``output`` (``serving_parity`` checks it).
    """
    job = TrainJob.from_yaml(config) if config else None
    if output is None and job is not None and is_trained(job.config.output_dir):
        output = job.config.output_dir
    conversations: list[Conversation] | None = None
    tokenizer = fmt = None
    options = TokenizeOptions()
    if job is not None:
        tokenizer = job.load_tokenizer()
        fmt = job.load_format(tokenizer) if format is None else resolve_format(format, tokenizer=tokenizer)
        conversations = job.load_train()
        options = job.config.tokenize_options()
    elif data or model or format or output:
        trained = output is not None and model is None and is_trained(output)
        tokenizer, fmt = setup_for(str(output) if trained else model, format)
    if data:
        conversations = load_data(data)
    found = find_baseline(runs) if baseline is None else None
    baseline_dir = baseline or found
    report = diagnose(
        tokenizer=tokenizer,
        fmt=fmt,
        conversations=conversations,
        options=options if max_length is None else options.model_copy(update={"max_length": max_length}),
        output_dir=Path(output) if output else None,
        runs=[load_run_dir(run) for run in runs],
        baseline=load_run_dir(baseline_dir) if baseline_dir else None,
        samples=samples,
        api_base=api_base,
        api_model=api_model,
    )
    if found is None:
        return report
    note = f"baseline: {found}, found next to the runs (name another with --baseline DIR)"
    noted = [
        dataclasses.replace(result, details=(note, *result.details)) if result.check == "baseline_parity" else result
        for result in report.results
    ]
    return DoctorReport(tuple(noted))
