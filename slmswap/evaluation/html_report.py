"""The HTML report: one self-contained page (no script, no external resource) a person would rather look at
than read, from the same data as the Markdown report.

The page is a sequence of sections, each a small function from :class:`Page` to HTML (:data:`SECTIONS`): prompt
parity, the metrics of every run (a chart with intervals and a table), the paired comparison with the first
run, the training curves (from a training output's ``history.jsonl``), parse failures and issues, where each
run fails (every metric per tool and per BFCL category), and the worst examples with their raw output diffed
against the reference. Charts are inline SVG with titles and axis labels; the styles follow the reader's light
or dark preference.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slmswap.evaluation._svg import Bar, Line, bar_chart, line_chart
from slmswap.evaluation.report import (
    SIGNIFICANCE_NOTE,
    Run,
    _comparisons,
    _failures,
    _metric_names,
    _parity,
    _worst,
    breakdown_rows,
    significance,
)
from slmswap.evaluation.runner import EvalRecord
from slmswap.metrics.stats import Interval

if TYPE_CHECKING:
    from slmswap.trained.history import TrainingHistory

__all__ = ["SECTIONS", "Page", "Section", "html_page", "html_table", "output_diff", "report_html"]


@dataclass(frozen=True)
class Page:
    """What the report's sections are rendered from."""

    runs: list[Run]
    """The runs, the baseline first."""
    title: str
    history: TrainingHistory | None = None
    """The training history of the (last) run's model, for the training curves."""


Section = Callable[[Page], str]
"""A section of the page: HTML (empty when the section has nothing to show)."""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _column(name: str) -> str:
    """A metric's name as a column header that may break after each underscore, so a table of many metrics fits."""
    return _esc(name).replace("_", "_<wbr>")


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = ()) -> str:
    """A table in the reports' style; ``header`` and the cells are HTML already (escape text first);
    ``numeric`` columns align right. On a screen narrower than the table, the table scrolls inside its box and
    the page does not."""

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(f"<{tag}{' class=num' if k in numeric else ''}>{cell}</{tag}>" for k, cell in enumerate(row))

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<div class=wide><table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table></div>"


def _legend(runs: Sequence[Run]) -> str:
    items = "".join(
        f'<li><span class="swatch series-{k}" aria-hidden="true"></span>{_esc(run.label)}</li>'
        for k, run in enumerate(runs)
    )
    return f'<ul class="legend">{items}</ul>'


def parity_section(page: Page) -> str:
    """Whether every run was given the very same prompts."""
    text = _parity(page.runs)
    broken = text.startswith("**")
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text).replace("`", "")
    return f'<p class="{"alert" if broken else "note"}">{_esc(text)}</p>'


def metrics_section(page: Page) -> str:
    """Every metric per run: a bar chart with 95 % intervals, and the table."""
    names = _metric_names(page.runs)
    series = []
    for run in page.runs:
        bars: list[Bar | None] = []
        for name in names:
            value = run.result.metrics.values.get(name)
            if value is None:
                bars.append(None)
                continue
            tip = f"{run.label} {name}: {value.value:.3f} [{value.low:.3f}, {value.high:.3f}], n={value.n}"
            bars.append(Bar(Interval(value.value, value.low, value.high), tip))
        series.append((run.label, bars))
    chart = bar_chart(
        "Held-out metrics per run (95 % bootstrap intervals)",
        names,
        series,
        x_label="score (0 = never, 1 = always)",
        y_label="metric",
    )
    rows = []
    for name in names:
        cells = [_esc(name)]
        for run in page.runs:
            value = run.result.metrics.values.get(name)
            cells.append(
                f"{value.value:.3f} <span class=muted>[{value.low:.3f}, {value.high:.3f}] n={value.n}</span>"
                if value
                else "–"
            )
        rows.append(cells)
    table = html_table(["metric", *(_esc(run.label) for run in page.runs)], rows, numeric=range(1, len(page.runs) + 1))
    return f"<h2>Metrics</h2>{_legend(page.runs)}<figure>{chart}</figure>{table}"


def comparison_section(page: Page) -> str:
    """Each later run against the first, example by example."""
    parts = []
    for label, rows in _comparisons(page.runs).items():
        cells = [
            [
                _esc(row.metric),
                f"{row.difference:+.3f}",
                f"[{row.low:+.3f}, {row.high:+.3f}]",
                f"{row.relative:+.1%}" if row.relative is not None else "–",
                f"{row.p_value:.4g}" if row.p_value is not None else "–",
                f'<span class="{"yes" if row.significant else "no"}">{_esc(significance(row))}</span>',
            ]
            for row in rows
        ]
        header = ["metric", "difference", "95 % interval", "relative", "McNemar p", "significant"]
        parts.append(
            f"<h2>{_esc(label)} vs {_esc(page.runs[0].label)} (paired)</h2>"
            f"{html_table(header, cells, numeric=(1, 2, 3, 4))}<p class=muted>{_esc(SIGNIFICANCE_NOTE)}.</p>"
        )
    return "".join(parts)


def training_section(page: Page) -> str:
    """The loss and every held-out task metric by optimizer step."""
    history = page.history
    if history is None or not history.entries:
        return (
            "<h2>Training</h2><p class=muted>No training history given: <code>slmswap report --training DIR</code> "
            "draws the curves from a training output's <code>history.jsonl</code>.</p>"
        )
    charts = []
    loss = history.series("loss")
    if loss:
        charts.append(line_chart("Training loss", [Line("loss", loss)], x_label="optimizer step", y_label="loss"))
    for name in history.task_metrics:
        metric = name.removeprefix("eval_")
        charts.append(
            line_chart(
                f"Held-out {metric} while training",
                [Line(metric, history.series(name))],
                x_label="optimizer step",
                y_label=metric,
                y_range=(0.0, 1.0),
            )
        )
    figures = "".join(f"<figure>{chart}</figure>" for chart in charts)
    return f'<h2>Training</h2><div class="charts">{figures}</div>'


def failures_section(page: Page) -> str:
    """Why the strict parse refused outputs, and the kinds of issue, per run."""
    reasons = sorted({reason for run in page.runs for reason in _failures(run)})
    kinds = sorted({kind for run in page.runs for kind in run.result.metrics.issue_counts})
    header = ["", *(_esc(run.label) for run in page.runs)]
    numeric = range(1, len(page.runs) + 1)
    failures = [[_esc(reason), *(str(_failures(run)[reason]) for run in page.runs)] for reason in reasons]
    issues = [[_esc(kind), *(str(run.result.metrics.issue_counts.get(kind, 0)) for run in page.runs)] for kind in kinds]
    parts = ["<h2>Parse failures and issues</h2>", "<h3>Strict parse (examples per outcome)</h3>"]
    parts.append(html_table(["outcome", *header[1:]], failures, numeric=numeric))
    parts.append("<h3>Issues (examples with each)</h3>")
    parts.append(
        html_table(["issue", *header[1:]], issues, numeric=numeric) if issues else "<p>No issue in any run.</p>"
    )
    return "".join(parts)


def where_it_fails_section(page: Page) -> str:
    """Every metric of each run per tool the reference calls and per BFCL category (when the data has them)."""
    names = _metric_names(page.runs)
    parts = []
    for run in page.runs:
        metrics = run.result.metrics
        tables = []
        for title, breakdown in (("By tool", metrics.by_tool), ("By BFCL category", metrics.by_category)):
            if not breakdown:
                continue
            columns, rows, left_out = breakdown_rows(breakdown, names)
            numeric = range(1, len(columns) + 2)
            tables.append(
                f"<h3>{title}</h3>"
                + html_table(
                    [title.split()[-1], "examples", *map(_column, columns)],
                    [[_esc(cell) for cell in row] for row in rows],
                    numeric=numeric,
                )
            )
            if left_out:
                tables.append(f"<p class=note>{left_out} smaller group(s) left out; the results file has them all.</p>")
        if tables:
            parts.append(f"<h2>Where it fails: {_esc(run.label)}</h2>" + "".join(tables))
    return "".join(parts)


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def output_diff(reference: str, output: str) -> str:
    """``output`` against ``reference`` as HTML: text only in the reference struck through (``<del>``), text
    only in the output underlined (``<ins>``), word by word."""
    a, b = _TOKEN.findall(reference), _TOKEN.findall(output)
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            parts.append(f"<del>{_esc(''.join(a[i1:i2]))}</del>")
        if tag in ("insert", "replace"):
            parts.append(f"<ins>{_esc(''.join(b[j1:j2]))}</ins>")
        if tag == "equal":
            parts.append(_esc("".join(a[i1:i2])))
    return "".join(parts)


def _example(record: EvalRecord) -> str:
    scores = ", ".join(f"{name} {score:.2f}" for name, score in record.scores.items() if score is not None)
    issues = "".join(f"<li>{_esc(issue)}</li>" for issue in record.issues) or "<li>no issue</li>"
    parsed = "parsed" if record.ok else f"not parsed ({_esc(record.failure)})"
    parts = [
        f"<article class=example><h4><code>{_esc(record.id)}</code> <span class=muted>{parsed}; {_esc(scores)}"
        f"</span></h4><ul>{issues}</ul>",
        f"<p class=label>raw output</p><pre>{_esc(record.raw_output) or '<i>(empty)</i>'}</pre>",
    ]
    if record.reference is not None:
        parts.append(f"<p class=label>reference</p><pre>{_esc(record.reference)}</pre>")
        parts.append(
            "<p class=label>output against the reference (<del>missing</del>, <ins>extra</ins>)</p>"
            f"<pre class=diff>{output_diff(record.reference, record.raw_output)}</pre>"
        )
    parts.append("</article>")
    return "".join(parts)


def worst_section(page: Page) -> str:
    """The worst examples of each run, raw output as text, diffed against the reference."""
    parts = []
    for run in page.runs:
        examples = "".join(_example(record) for record in _worst(run))
        parts.append(f"<h2>Worst examples: {_esc(run.label)}</h2>{examples}")
    return "".join(parts)


SECTIONS: tuple[Section, ...] = (
    parity_section,
    metrics_section,
    comparison_section,
    training_section,
    failures_section,
    where_it_fails_section,
    worst_section,
)
"""The page's sections, in order."""

_STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1d1f23;--muted:#5b6068;--line:#d6d8dc;--axis:#3c4047;
--code:#f4f5f7;--s0:#8a8f98;--s1:#1f6fc5;--s2:#d4620f;--s3:#218a3b;--ins:#cdeccf;--del:#f7d4d4;--alert:#fbe3e3}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e4e6ea;--muted:#a3a8b0;--line:#3a3e45;
--axis:#c4c8ce;--code:#202328;--s0:#9aa0a8;--s1:#5aa2f0;--s2:#f08a3c;--s3:#4cc46a;--ins:#1f4d2a;--del:#5a2424;
--alert:#4a2323}}
*{box-sizing:border-box}
.wide{overflow-x:auto;max-width:100%}
body{margin:0 auto;max-width:1100px;padding:24px;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:1.7rem;margin:.2em 0 .6em}h2{font-size:1.3rem;margin-top:2em;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem}h4{font-size:1rem;margin:.2em 0;font-weight:600}
table{border-collapse:collapse;margin:.8em 0;max-width:100%}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}
.muted{color:var(--muted)}.note{color:var(--muted)}.alert{background:var(--alert);padding:8px;border-radius:6px}
.yes{font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--code);padding:8px 10px;border-radius:6px;
margin:.2em 0 .8em;font-size:.9rem}
code{font-size:.92em}
del{background:var(--del);text-decoration:line-through}ins{background:var(--ins);text-decoration:underline}
.label{margin:.4em 0 0;font-size:.85rem;color:var(--muted)}
.example{border-left:3px solid var(--line);padding-left:12px;margin:1em 0}
figure{margin:.5em 0}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts figure{flex:1 1 480px;min-width:0}
svg.chart{max-width:100%;height:auto;font-size:14px}
svg text{fill:currentColor}.chart-title{font-weight:600;font-size:15px}.tick{font-size:13px}
.axis-label{font-size:14px}.category{font-size:14px}.value{font-size:12px}
line.grid{stroke:var(--line)}line.axis{stroke:var(--axis);stroke-width:1.5}
line.whisker{stroke:var(--fg);stroke-width:1.5}
.series-0{fill:var(--s0);stroke:var(--s0)}.series-1{fill:var(--s1);stroke:var(--s1)}
.series-2{fill:var(--s2);stroke:var(--s2)}.series-3{fill:var(--s3);stroke:var(--s3)}
polyline.line{fill:none;stroke-width:2}rect{stroke:none}
polygon.band{fill-opacity:.22;stroke:none}line.threshold{stroke:var(--fg);stroke-width:1.5;stroke-dasharray:6 4}
.legend{list-style:none;padding:0;display:flex;gap:18px;margin:.4em 0}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;margin-right:6px;vertical-align:-2px}
.legend .series-0{background:var(--s0)}.legend .series-1{background:var(--s1)}
.legend .series-2{background:var(--s2)}.legend .series-3{background:var(--s3)}
"""


def report_html(
    runs: list[Run],
    *,
    title: str = "slmswap evaluation report",
    history: TrainingHistory | None = None,
    sections: Sequence[Section] = SECTIONS,
) -> str:
    """The report as one self-contained HTML page: ``sections`` (default :data:`SECTIONS`) rendered in order."""
    page = Page(runs, title, history)
    return html_page(title, "".join(section(page) for section in sections))


def html_page(title: str, body: str) -> str:
    """One self-contained page in the reports' style (light and dark): ``title`` as its heading, then ``body``
    (HTML already)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{_esc(title)}</h1>{body}</body></html>\n"
    )
