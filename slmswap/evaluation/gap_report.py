"""The report's "gap closed" section: for each tuned run, the share of the gap from the base run to the LLM run
it closes, with its paired interval, and whether it stays within the margin of the LLM
(:func:`slmswap.metrics.gap.gap_closed`)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from slmswap.evaluation.report import Run
from slmswap.evaluation.report_files import ReportSection
from slmswap.metrics.gap import DEFAULT_MARGIN, GapClosed, gap_closed

__all__ = ["CEILING_NOTE", "gap_section", "gaps"]

CEILING_NOTE = (
    "The labels are the LLM's own answers: on this data the LLM is the ceiling (its score is its agreement with "
    "itself), not a baseline to beat; the gap closed says how near the ceiling a run got."
)
"""What the section says first when the labels are the LLM's own (a curation of its traffic or logs)."""


def gaps(
    runs: Sequence[Run], llm: Run, *, metric: str | None = None, margin: float = DEFAULT_MARGIN
) -> list[tuple[Run, GapClosed]]:
    """The gap each run after the first (the base) closes towards ``llm`` (``llm`` itself left out)."""
    base = runs[0]
    return [
        (run, gap_closed(base.result.metrics, run.result.metrics, llm.result.metrics, metric=metric, margin=margin))
        for run in runs[1:]
        if run is not llm
    ]


def gap_section(base: Run, llm: Run, rows: Sequence[tuple[Run, GapClosed]], *, llm_labels: bool) -> ReportSection:
    """The section (Markdown and HTML); ``llm_labels``: the labels are the LLM's own answers."""
    paragraphs = [CEILING_NOTE] if llm_labels else []
    paragraphs += [gap.describe(base.label, run.label, llm.label) for run, gap in rows]
    markdown = "## Gap closed\n\n" + "\n\n".join(p.replace("\n", "  \n") for p in paragraphs) + "\n"
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return ReportSection(markdown=markdown, html=f"<h2>Gap closed</h2>{body}")
