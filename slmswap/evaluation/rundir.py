"""Run directories: one evaluation's records and results under fixed names, so that commands can pass runs
around as directories (``slmswap eval --out runs/tuned``, then ``slmswap report runs/base runs/tuned``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap.errors import ConfigError
from slmswap.evaluation.backend import Generate
from slmswap.evaluation.report import Run, load_run
from slmswap.evaluation.runner import PROMPTS_PER_CALL, evaluate
from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["RECORDS_FILE", "RESULTS_FILE", "evaluate_into", "load_run_dir"]

RECORDS_FILE = "records.jsonl"
"""The records file's name in a run directory."""
RESULTS_FILE = "results.json"
"""The results file's name in a run directory."""


def load_run_dir(directory: str | Path, label: str | None = None) -> Run:
    """A run read back from a run directory: its ``records.jsonl`` and, when there is one, ``results.json``.

    The label defaults to the directory's name.
    """
    directory = Path(directory)
    records = directory / RECORDS_FILE
    if not records.is_file():
        raise ConfigError(f"{directory}: no {RECORDS_FILE} here; it is not an evaluation run directory")
    results = directory / RESULTS_FILE
    return load_run(label or directory.resolve().name, records, results if results.is_file() else None)


def evaluate_into(
    directory: str | Path,
    conversations: Sequence[Conversation],
    generate: Generate,
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    *,
    model: str | None = None,
    batch_size: int = PROMPTS_PER_CALL,
    progress: Callable[[int, int], None] | None = None,
    constrained: bool = False,
) -> Run:
    """:func:`~slmswap.evaluation.evaluate` with its records and results in ``directory`` (resumed if it holds an
    interrupted run); returns the run, labelled with the directory's name. ``constrained``: decode within the
    format's grammar (see :func:`~slmswap.evaluation.evaluate`)."""
    directory = Path(directory)
    evaluate(
        conversations,
        generate,
        tokenizer,
        fmt,
        records=directory / RECORDS_FILE,
        results=directory / RESULTS_FILE,
        model=model,
        batch_size=batch_size,
        progress=progress,
        constrained=constrained,
    )
    return load_run_dir(directory)
