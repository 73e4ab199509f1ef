"""The doctor: the production checklist of a small-model swap as checks, each pass / warn / fail with the
reason and the fix.

Before training it checks the setup: the chat template's special tokens are real, conversations render through
``tokenizer.apply_chat_template``, the evaluation prompt is token for token the training text before the answer,
the end-of-turn token is trained, and no example loses its target to truncation. After training and evaluation
it checks the outcome: the adapter was evaluated with the format it was trained with, held-out accuracy is
above zero, sample outputs are shown, and a baseline was run on the very same prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap.doctor.outcome import ACCURACY_METRICS, accuracy, outcome_checks
from slmswap.doctor.result import CheckResult, DoctorReport, Status
from slmswap.doctor.setup import setup_checks
from slmswap.evaluate.report import Run
from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation
from slmswap.templates.tokenize import TokenizeOptions
from slmswap.train.manifest import Manifest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ACCURACY_METRICS", "CheckResult", "DoctorReport", "Status", "accuracy", "diagnose"]


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
    return DoctorReport(tuple(results))
