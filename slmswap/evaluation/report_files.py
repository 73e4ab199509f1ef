"""Writing a report's files: ``report.md`` (:mod:`slmswap.evaluation.report`) and ``report.html``
(:mod:`slmswap.evaluation.html_report`), side by side, with the sections rooms above evaluation add (the
curation's, the gap closed) first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._files import write_atomically
from slmswap.evaluation.html_report import SECTIONS, Page, Section, report_html
from slmswap.evaluation.report import Run, report_markdown

if TYPE_CHECKING:
    from slmswap.trained.history import TrainingHistory

__all__ = ["ReportSection", "write_report"]


@dataclass(frozen=True)
class ReportSection:
    """A section a room above evaluation adds to the report (e.g. :func:`slmswap.curation.section.curation_section`):
    its Markdown, and its HTML (a fragment starting with its ``<h2>``)."""

    markdown: str
    html: str

    def html_section(self) -> Section:
        """The section as the HTML page's sections are (a function of the page)."""

        def render(page: Page) -> str:
            return self.html

        return render


def write_report(
    runs: list[Run],
    directory: Path,
    *,
    title: str = "slmswap evaluation report",
    history: TrainingHistory | None = None,
    sections: Sequence[ReportSection] = (),
) -> Mapping[str, Path]:
    """Write ``report.md`` and ``report.html`` into ``directory`` (atomically); return their paths. ``history``
    (:func:`~slmswap.trained.history.read_history` of a training output) adds the training curves; ``sections``
    come first, under the title."""
    paths = {"markdown": directory / "report.md", "html": directory / "report.html"}
    markdown = report_markdown(runs, title=title, history=history)
    if sections:
        title_line, _, rest = markdown.partition("\n")
        added = "\n".join(section.markdown.strip("\n") + "\n" for section in sections)
        markdown = f"{title_line}\n\n{added}{rest}"
    write_atomically(paths["markdown"], markdown)
    pages = (*(section.html_section() for section in sections), *SECTIONS)
    write_atomically(paths["html"], report_html(runs, title=title, history=history, sections=pages))
    return paths
