"""Every check the inputs allow, in one report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap.doctor.outcome import outcome_checks
from slmswap.doctor.result import CheckResult, DoctorReport, Status
from slmswap.doctor.serving import serving_check
from slmswap.doctor.setup import setup_checks
from slmswap.evaluation.report import Run
from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation
from slmswap.templates.lint import sample_conversations
from slmswap.templates.tokenize import TokenizeOptions
from slmswap.trained.manifest import Manifest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["diagnose"]


def diagnose(
    *,
    tokenizer: PreTrainedTokenizerBase | None = None,
    fmt: ChatFormat | None = None,
    conversations: Sequence[Conversation] | None = None,
    options: TokenizeOptions | None = None,
    output_dir: str | Path | None = None,
    runs: Sequence[Run] = (),
    baseline: Run | None = None,
    samples: int = 3,
    api_base: str | None = None,
    api_model: str | None = None,
) -> DoctorReport:
    """Run every check the inputs allow: the setup checks when a tokenizer and a format are given, the outcome
    checks when an output directory or runs are; a check whose inputs are missing is reported as skipped.

    Args:
        tokenizer: The model's tokenizer (setup checks need it and ``fmt``).
        fmt: The chat format trained or to be trained.
        conversations: Training data to check (else the template is checked on built-in samples).
        options: How the data would be tokenized (``max_length`` decides truncation).
        output_dir: A training output directory (its manifest holds the trained format).
        runs: Evaluation runs of the fine-tuned model.
        baseline: The evaluation run of what it replaces (an LLM, or the base model).
        samples: Raw outputs shown per run.
        api_base: A server running the exported ``output_dir`` (its prompt lengths are checked).
        api_model: That server's name for the model (default: ``output_dir``).
    """
    results: list[CheckResult] = []
    if tokenizer is not None and fmt is not None:
        results.extend(setup_checks(tokenizer, fmt, conversations, options or TokenizeOptions()))
    else:
        results.append(CheckResult("setup", Status.SKIP, "no tokenizer and format given"))
    if output_dir is not None or runs or baseline is not None:
        manifest = Manifest.load(Path(output_dir)) if output_dir is not None else None
        results.extend(
            outcome_checks(
                manifest=manifest, fmt=fmt, tokenizer=tokenizer, runs=runs, baseline=baseline, samples=samples
            )
        )
    if output_dir is not None:
        samples_to_serve = list(conversations)[:20] if conversations else sample_conversations()
        results.append(serving_check(Path(output_dir), samples_to_serve, api_base=api_base, api_model=api_model))
    return DoctorReport(tuple(results))
