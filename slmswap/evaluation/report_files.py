"""Writing a report's files: ``report.md`` (:mod:`slmswap.evaluation.report`) and ``report.html``
(:mod:`slmswap.evaluation.html_report`), side by side."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._files import write_atomically
from slmswap.evaluation.html_report import report_html
from slmswap.evaluation.report import Run, report_markdown

if TYPE_CHECKING:
    from slmswap.trained.history import TrainingHistory

__all__ = ["write_report"]


def write_report(
    runs: list[Run],
    directory: Path,
    *,
    title: str = "slmswap evaluation report",
    history: TrainingHistory | None = None,
) -> Mapping[str, Path]:
    """Write ``report.md`` and ``report.html`` into ``directory`` (atomically); return their paths. ``history``
    (:func:`~slmswap.trained.history.read_history` of a training output) adds the training curves."""
    paths = {"markdown": directory / "report.md", "html": directory / "report.html"}
    write_atomically(paths["markdown"], report_markdown(runs, title=title, history=history))
    write_atomically(paths["html"], report_html(runs, title=title, history=history))
    return paths
