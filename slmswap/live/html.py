"""The live verdict as an HTML page in the style of the offline report (:mod:`slmswap.evaluation.html_report`):
the verdict, a chart of each agreement figure over the paired requests inside its 95 % confidence sequence (the
bar drawn across the bar's figure), the agreement tables overall and per tool, latency and tokens, and the
fallbacks."""

from __future__ import annotations

import html

from slmswap.evaluation._svg import Band, band_chart
from slmswap.evaluation.html_report import html_page, html_table
from slmswap.live.agreement import LIVE_METRICS, Agreement
from slmswap.live.report import LiveReport
from slmswap.live.traffic import ModelTraffic

__all__ = ["live_html"]


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _chart(figure: Agreement, threshold: float | None) -> str:
    sequence = figure.sequence
    points = list(
        zip(
            figure.positions.astype(float).tolist(),
            sequence.mean.tolist(),
            sequence.lower.tolist(),
            sequence.upper.tolist(),
            strict=True,
        )
    )
    return band_chart(
        f"{figure.metric}: {figure.value:.3f} [{figure.lower:.3f}, {figure.upper:.3f}]",
        Band(figure.metric, points),
        x_label="paired requests",
        y_label="agreement with the LLM",
        threshold=None if threshold is None else (f"bar {threshold:g}", threshold),
    )


def _interval(figure: Agreement | None) -> str:
    return "" if figure is None else f"{figure.value:.3f} [{figure.lower:.3f}, {figure.upper:.3f}] n={figure.n}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value * 1000:.0f} ms"


def _traffic(name: str, traffic: ModelTraffic) -> list[str]:
    tokens = [str(traffic.prompt_tokens), str(traffic.completion_tokens)] if traffic.with_usage else ["", ""]
    return [
        _esc(name),
        str(traffic.answered),
        _seconds(traffic.p50_seconds),
        _seconds(traffic.p95_seconds),
        *tokens,
    ]


def live_html(report: LiveReport, *, title: str = "slmswap live verdict") -> str:
    """``report`` as one self-contained HTML page (no script, no external resource)."""
    verdict = report.verdict
    parts = [
        f'<section id="verdict"><h2>Verdict: {_esc(verdict.decision)}</h2><p><strong>{_esc(verdict.describe())}'
        f"</strong></p><p>{_esc(report.window())}</p></section>"
    ]
    overall = report.agreement.overall
    order = [verdict.bar.metric] + [name for name in LIVE_METRICS if name != verdict.bar.metric]
    charts = [
        f"<figure>{_chart(overall[name], verdict.bar.threshold if name == verdict.bar.metric else None)}</figure>"
        for name in order
        if name in overall
    ]
    rows = [[_esc(f.metric), str(f.n), f"{f.value:.3f}", f"[{f.lower:.3f}, {f.upper:.3f}]"] for f in overall.values()]
    parts.append(
        '<section id="agreement"><h2>Agreement with the LLM</h2><p>Each band is a 95 % confidence sequence: it '
        "holds the true agreement at every request at once, so it may be checked after every request.</p>"
        f'<div class="charts">{"".join(charts)}</div>'
        + html_table(["figure", "pairs", "agreement", "95 % confidence sequence"], rows, numeric=(1, 2))
        + "</section>"
    )
    if report.agreement.by_tool:
        shown = [name for name in LIVE_METRICS if name in overall]
        tool_rows = [
            [_esc(tool), *(_interval(figures.get(name)) for name in shown)]
            for tool, figures in report.agreement.by_tool.items()
        ]
        parts.append(
            '<section id="by-tool"><h2>Per tool the LLM called</h2>'
            + html_table(["tool", *(_esc(name) for name in shown)], tool_rows)
            + "</section>"
        )
    header = ["model", "answered", "p50 latency", "p95 latency", "prompt tokens", "completion tokens"]
    parts.append(
        '<section id="traffic"><h2>Latency and tokens</h2>'
        + html_table(header, [_traffic("LLM", report.llm), _traffic("small model", report.slm)], numeric=range(1, 6))
        + "</section>"
    )
    fell = report.fallbacks
    reasons = [[_esc(reason), str(count)] for reason, count in fell.reasons.items()]
    parts.append(
        f'<section id="fallbacks"><h2>Fallbacks</h2><p>{_esc(fell.describe())}</p>'
        + (html_table(["reason", "requests"], reasons, numeric=(1,)) if reasons else "")
        + "</section>"
    )
    return html_page(title, "".join(parts))
