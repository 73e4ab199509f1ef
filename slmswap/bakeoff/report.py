"""The bake-off's report, ``report.md`` and ``report.html``, from a :class:`~slmswap.bakeoff.results.BakeoffResult`
alone: the formats ranked by the primary metric with 95 % intervals, every pair of formats compared example by
example with Holm's correction, tuned against base (and the LLM) per format, the primary metric per tool, and
the formats that failed. Both files are rendered from the same blocks; the HTML page is the offline report's
(:func:`~slmswap.evaluation.html_report.report_html`: its styles, tables and charts)."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from slmswap._display import format_duration
from slmswap._files import write_atomically
from slmswap.bakeoff.results import BakeoffResult
from slmswap.evaluation._svg import Bar, bar_chart
from slmswap.evaluation.html_report import Page, html_table, report_html
from slmswap.evaluation.report import SIGNIFICANCE_NOTE, significance
from slmswap.metrics import Comparison, MetricValue
from slmswap.metrics.stats import Interval

__all__ = ["bakeoff_markdown", "write_bakeoff_report"]

PROMPT_NOTE = (
    "Prompts differ across formats by design: each format writes the tools and the calls its own way, so each "
    "format's runs are given that format's prompts. Within one format the prompts are identical: the base model, "
    "the tuned model and the LLM answer the very same prompt for every example"
)


@dataclass(frozen=True)
class _Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def _interval(value: MetricValue) -> str:
    return f"{value.value:.3f} [{value.low:.3f}, {value.high:.3f}] (n={value.n})"


def _difference(row: Comparison) -> list[str]:
    p_value = f"{row.p_value:.4g}" if row.p_value is not None else "–"
    return [f"{row.difference:+.3f}", f"[{row.low:+.3f}, {row.high:+.3f}]", p_value]


def _ranking(result: BakeoffResult, metric: str) -> _Table:
    rows = []
    for place, name in enumerate(result.ranking, 1):
        outcome = result.outcome(name)
        base = outcome.metrics["base"].get(metric)
        rows.append([str(place), name, _interval(outcome.metrics["tuned"][metric]), _interval(base) if base else "–"])
    return _Table(f"Ranking by {metric} (tuned, 95 % bootstrap intervals)", ["rank", "format", "tuned", "base"], rows)


def _pairs(result: BakeoffResult, metric: str) -> _Table:
    rows = [
        [
            f"{pair.b} − {pair.a}",
            *_difference(pair.comparison),
            f"{pair.holm_p:.4g}" if pair.holm_p is not None else "–",
            pair.verdict(),
        ]
        for pair in result.pairs
    ]
    return _Table(
        f"Every pair of formats on {metric} (tuned, paired by example id)",
        ["pair", "difference", "95 % interval", "McNemar p", "Holm p", "verdict"],
        rows,
        f"Holm's correction over the {len(result.pairs)} pair(s): a difference is called significant when its "
        "paired 95 % bootstrap interval excludes zero and its Holm-adjusted McNemar p is below 0.05",
    )


def _versus(result: BakeoffResult, metric: str) -> _Table:
    rows = []
    for outcome in result.formats:
        for label, row in (("base", outcome.tuned_vs_base), ("LLM", outcome.tuned_vs_llm)):
            if row is not None:
                rows.append([outcome.format, f"tuned − {label}", *_difference(row), significance(row)])
    return _Table(
        f"Tuned against base{' and the LLM' if any(o.tuned_vs_llm for o in result.formats) else ''} per format "
        f"({metric}, paired)",
        ["format", "comparison", "difference", "95 % interval", "McNemar p", "significant"],
        rows,
        SIGNIFICANCE_NOTE + " (each row on its own, not corrected for the number of rows)",
    )


def _by_tool(result: BakeoffResult, metric: str) -> _Table:
    names = result.ranking
    tools = sorted({tool for name in names for tool in result.outcome(name).by_tool})
    rows = []
    for tool in tools:
        cells = []
        for name in names:
            value = result.outcome(name).by_tool.get(tool)
            cells.append(f"{value.value:.2f} (n={value.n})" if value else "–")
        rows.append([tool, *cells])
    return _Table(f"{metric} per tool the reference calls (tuned)", ["tool", *names], rows)


def _failures(result: BakeoffResult) -> _Table:
    rows = [[o.format, o.error or "", str(o.directory / "error.txt")] for o in result.formats if not o.ok]
    return _Table("Formats that failed", ["format", "error", "traceback"], rows)


def _setup(result: BakeoffResult) -> list[str]:
    options = result.options
    held = [
        f"model {options['model']}",
        f"data {options['data']}" + (f", held-out {options['test']}" if options.get("test") else ""),
        f"{options['steps']} LoRA steps of {options['batch_size']} at learning rate {options['learning_rate']:g}",
        f"seed {options['seed']}",
        f"{options['test_examples']} held-out conversations at most",
        "constrained decoding" if options["constrained"] else "free decoding",
    ]
    mismatched = [f"{o.format} ({o.prompt_mismatches})" for o in result.formats if o.prompt_mismatches]
    within = (
        f"Prompt parity broken within: {', '.join(mismatched)}."
        if mismatched
        else "Checked prompt by prompt: no format's runs differ in any prompt."
    )
    return [
        f"{PROMPT_NOTE}. {within}",
        "The same for every format: " + "; ".join(held) + ".",
        f"Wall time of this invocation: {format_duration(result.seconds)} (runs an earlier invocation finished "
        "were read back, not timed again).",
    ]


def _tables(result: BakeoffResult) -> list[_Table]:
    tables = []
    if result.metric is not None and result.ranking:
        metric = result.metric
        tables += [_ranking(result, metric), _pairs(result, metric), _versus(result, metric), _by_tool(result, metric)]
    if not result.ok:
        tables.append(_failures(result))
    return tables


def _links(result: BakeoffResult, directory: Path) -> list[tuple[str, str]]:
    """Each finished format's own report (base, tuned and the LLM in full), relative to ``directory``."""
    return [
        (o.format, os.path.relpath(o.directory / "report" / "report.html", directory)) for o in result.formats if o.ok
    ]


def bakeoff_markdown(result: BakeoffResult, directory: Path) -> str:
    """The report as Markdown (links relative to ``directory``, where it is written)."""
    title = _title(result)
    lines = [f"# {title}", "", *(f"{line}\n" for line in _setup(result))]
    for table in _tables(result):
        lines += [f"## {table.title}", ""]
        lines.append("| " + " | ".join(table.header) + " |")
        lines.append("|" + "---|" * len(table.header))
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows]
        lines += [""] + ([f"_{table.note}._", ""] if table.note else [])
    links = _links(result, directory)
    if links:
        lines += ["## Each format's own report", ""]
        lines += [f"- {name}: [{target}]({target})" for name, target in links]
    return "\n".join(lines).rstrip("\n") + "\n"


def _chart(result: BakeoffResult) -> str:
    metric = result.metric
    if metric is None or not result.ranking:
        return ""
    labels = [label for label in ("base", "tuned", "llm") if any(label in o.metrics for o in result.formats)]
    series = []
    for label in labels:
        bars: list[Bar | None] = []
        for name in result.ranking:
            value = result.outcome(name).metrics.get(label, {}).get(metric)
            tip = f"{name} {label}: {_interval(value)}" if value else ""
            bars.append(Bar(Interval(value.value, value.low, value.high), tip) if value else None)
        series.append((label, bars))
    chart = bar_chart(
        f"{metric} per format (95 % bootstrap intervals)", result.ranking, series, x_label=metric, y_label="format"
    )
    legend = "".join(
        f'<li><span class="swatch series-{k}" aria-hidden="true"></span>{html.escape(label)}</li>'
        for k, label in enumerate(labels)
    )
    return f'<ul class="legend">{legend}</ul><figure>{chart}</figure>'


def _html_sections(result: BakeoffResult, directory: Path) -> str:
    esc = html.escape
    parts = [f"<p class=note>{esc(line)}</p>" for line in _setup(result)]
    parts.append(_chart(result))
    for table in _tables(result):
        parts.append(f"<h2>{esc(table.title)}</h2>")
        parts.append(html_table([esc(cell) for cell in table.header], [[esc(c) for c in row] for row in table.rows]))
        if table.note:
            parts.append(f"<p class=muted>{esc(table.note)}.</p>")
    links = _links(result, directory)
    if links:
        items = "".join(f'<li><a href="{esc(target)}">{esc(name)}</a></li>' for name, target in links)
        parts.append(f"<h2>Each format's own report</h2><ul>{items}</ul>")
    return "".join(parts)


def _title(result: BakeoffResult) -> str:
    return f"slmswap bake-off: {', '.join(o.format for o in result.formats)}"


def write_bakeoff_report(result: BakeoffResult, directory: Path) -> Mapping[str, Path]:
    """Write ``report.md`` and ``report.html`` into ``directory`` (atomically); return their paths."""
    paths = {"markdown": directory / "report.md", "html": directory / "report.html"}
    write_atomically(paths["markdown"], bakeoff_markdown(result, directory))
    body = _html_sections(result, directory)

    def sections(page: Page) -> str:
        return body

    write_atomically(paths["html"], report_html([], title=_title(result), sections=(sections,)))
    return paths
