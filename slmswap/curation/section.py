"""The curation section of ``slmswap report`` (Markdown and HTML, from one list of blocks): what the labels
are, what was dropped and collapsed, the split and the leakage it avoided, each tool's examples, and the LLM's
agreement with itself next to each run's agreement with the labels."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from slmswap.curation.duplicates import AGREEMENT_METRICS
from slmswap.curation.report import CurationReport
from slmswap.evaluation.report import Run
from slmswap.evaluation.report_files import ReportSection

__all__ = ["curation_markdown", "curation_section"]

_LISTED = 10
"""Disagreements and rare tools named in the section (``curation.json`` has them all)."""


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[list[str]]


_Block = str | _Table


def _blocks(report: CurationReport, runs: Sequence[Run]) -> list[_Block]:
    counts, leakage = report.counts, report.leakage
    dropped = ", ".join(f"{reason}: {n}" for reason, n in counts.dropped.items()) or "none"
    blocks: list[_Block] = [
        f"**Labels.** {report.labels_note}",
        f"Read {counts.read} examples from {', '.join(report.sources)}; dropped {sum(counts.dropped.values())} "
        f"({dropped}); {counts.valid} valid. {counts.exact_duplicates} exact duplicates collapsed into "
        f"{counts.unique} distinct requests; {counts.near_duplicates} near-duplicates in "
        f"{counts.near_duplicate_groups} groups (Jaccard >= {report.settings.near_duplicate_threshold}), each "
        f"group on one side ({leakage.straddling_groups} straddling).",
        f"Split: {counts.train} train, {counts.test} test, stratified by the tools called. A random split of the "
        f"valid examples would have leaked {leakage.random_split_leaked_test_examples} of its "
        f"{leakage.random_split_test_examples} test examples (a duplicate or near-duplicate in training; "
        f"{leakage.random_split_leaked_pairs} pairs).",
    ]
    if report.rare_tools:
        shown = ", ".join(report.rare_tools[:_LISTED]) + (" ..." if len(report.rare_tools) > _LISTED else "")
        blocks.append(f"Rare tools (too few examples for both sides; kept in training): {shown}.")
    names = [metric.name for metric in AGREEMENT_METRICS]
    agreement = report.self_agreement
    rows = []
    if agreement.requests:
        who = f"the LLM with itself ({agreement.requests} requests answered more than once)"
        rows.append([who, *(_number(agreement.metrics.get(name)) for name in names)])
    for run in runs:
        values = run.result.metrics.values
        rows.append(
            [f"{run.label} with the labels", *(_number(v.value if (v := values.get(n)) else None) for n in names)]
        )
    if rows:
        blocks.append(_Table(["agreement", *names], rows))
    if not agreement.requests:
        blocks.append("No request was answered more than once: the LLM's agreement with itself is not known here.")
    elif report.labels == "recorded":
        blocks.append(
            "The labels are the LLM's own answers, so the LLM's agreement with itself is the ceiling: a model that "
            "agrees with the labels that often has matched the LLM; no figure here says it beats the LLM."
        )
    blocks.append(
        _Table(
            ["tool", "examples", "train", "test", "rare"],
            [
                [tool, str(r.examples), str(r.train), str(r.test), "yes" if r.rare else ""]
                for tool, r in report.tools.items()
            ],
        )
    )
    if report.relabelling is not None:
        relabelling = report.relabelling
        listed = ", ".join(d.id for d in relabelling.disagreements[:_LISTED])
        blocks.append(
            f"Relabelled by the teacher: {relabelling.compared} compared with their original answers, "
            f"{relabelling.agreed} agreed, {len(relabelling.disagreements)} changed"
            + (f" ({listed}{' ...' if len(relabelling.disagreements) > _LISTED else ''})." if listed else ".")
        )
    return blocks


def _number(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "–"


def curation_markdown(report: CurationReport, runs: Sequence[Run] = ()) -> str:
    """The section as Markdown (also what ``slmswap curate`` prints)."""
    lines = ["## Curation", ""]
    for block in _blocks(report, runs):
        if isinstance(block, _Table):
            lines.append("| " + " | ".join(block.header) + " |")
            lines.append("|---" * len(block.header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in block.rows]
        else:
            lines.append(block)
        lines.append("")
    return "\n".join(lines)


def _html(block: _Block) -> str:
    if isinstance(block, str):
        text = html.escape(block)
        if text.startswith("**"):
            bold, _, rest = text[2:].partition("**")
            text = f"<strong>{bold}</strong>{rest}"
        return f"<p>{text}</p>"
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in block.rows)
    return f"<div class=wide><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def curation_section(report: CurationReport, runs: Sequence[Run] = ()) -> ReportSection:
    """The section for :func:`~slmswap.evaluation.write_report`: Markdown and HTML, with each run's agreement with
    the labels next to the LLM's agreement with itself."""
    blocks = _blocks(report, runs)
    return ReportSection(
        markdown=curation_markdown(report, runs),
        html="<h2>Curation</h2>" + "".join(_html(block) for block in blocks),
    )
