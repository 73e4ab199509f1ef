"""The live verdict on paired traffic: agreement with confidence sequences, the cut-over verdict against a bar,
latency, tokens and fallbacks, as one report with a Markdown rendering."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from slmswap.live.agreement import LIVE_METRICS, Agreement, AgreementTable, agreement_table
from slmswap.live.confidence import ALPHA, confidence_sequence
from slmswap.live.exchange import (
    PairedExchange,
    is_store,
    parse_time,
    read_exchanges,
    read_fallback_reasons,
    read_store,
)
from slmswap.live.traffic import Fallbacks, ModelTraffic, fallback_counts, fallbacks, model_traffic
from slmswap.live.verdict import DEFAULT_BAR, Bar, CutoverVerdict, decide, parse_bar

__all__ = ["LiveReport", "live_verdict"]


@dataclass(frozen=True)
class LiveReport:
    """Everything the live verdict found on the paired requests."""

    verdict: CutoverVerdict
    agreement: AgreementTable
    llm: ModelTraffic
    slm: ModelTraffic
    fallbacks: Fallbacks
    requests: int
    """Paired requests read (after ``since``)."""
    first: datetime | None
    last: datetime | None
    """The first and the last request's time."""
    since: datetime | None = None

    def window(self) -> str:
        """One sentence: the paired requests read, from when to when, and the bar."""
        window = f"{self.requests} paired requests"
        if self.first is not None and self.last is not None:
            window += f", {self.first.isoformat()} to {self.last.isoformat()}"
        if self.since is not None:
            window += f" (since {self.since.isoformat()})"
        return window + f"; bar {self.verdict.bar}."

    def to_markdown(self) -> str:
        """The report as Markdown: the verdict, the agreement table (overall and per tool), latency and tokens,
        fallbacks."""
        lines = ["# Live verdict: the small model against the LLM", "", f"**{self.verdict.describe()}**", ""]
        lines += [self.window(), ""]
        if self.agreement.unscored:
            lines += [f"{self.agreement.unscored} requests had an empty LLM answer, with nothing to agree with.", ""]
        lines += [
            "## Agreement with the LLM",
            "",
            "Each interval is a 95 % confidence sequence: it stays valid however often it is checked.",
            "",
            "| figure | pairs | agreement | 95 % confidence sequence |",
            "|---|---:|---:|---|",
        ]
        for figure in self.agreement.overall.values():
            lines.append(f"| {figure.metric} | {figure.n} | {figure.value:.3f} | {_bounds(figure)} |")
        if self.agreement.by_tool:
            shown = [name for name in LIVE_METRICS if name in self.agreement.overall]
            lines += ["", "### Per tool the LLM called", ""]
            lines.append("| tool | " + " | ".join(shown) + " |")
            lines.append("|---|" + "---|" * len(shown))
            for tool, figures in self.agreement.by_tool.items():
                cells = [_cell(figures.get(name)) for name in shown]
                lines.append(f"| {tool} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "## Latency and tokens",
            "",
            "| model | answered | p50 latency | p95 latency | prompt tokens | completion tokens |",
            "|---|---:|---:|---:|---:|---:|",
            _traffic_row("LLM", self.llm),
            _traffic_row("small model", self.slm),
            "",
            "## Fallbacks",
            "",
            self.fallbacks.describe(),
        ]
        if self.fallbacks.reasons:
            lines += ["", "| reason | requests |", "|---|---:|"]
            lines += [f"| {reason} | {count} |" for reason, count in self.fallbacks.reasons.items()]
        return "\n".join(lines) + "\n"


def _bounds(figure: Agreement) -> str:
    return f"[{figure.lower:.3f}, {figure.upper:.3f}]"


def _cell(figure: Agreement | None) -> str:
    return "" if figure is None else f"{figure.value:.3f} {_bounds(figure)} n={figure.n}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value * 1000:.0f} ms"


def _traffic_row(name: str, traffic: ModelTraffic) -> str:
    tokens = (
        f"{traffic.prompt_tokens} | {traffic.completion_tokens}"
        if traffic.with_usage
        else "not reported | not reported"
    )
    return (
        f"| {name} | {traffic.answered} | {_seconds(traffic.p50_seconds)} | {_seconds(traffic.p95_seconds)} | "
        f"{tokens} |"
    )


def live_verdict(
    rows: Iterable[PairedExchange] | str | os.PathLike[str],
    *,
    bar: str | Bar = DEFAULT_BAR,
    since: datetime | str | None = None,
    alpha: float = ALPHA,
) -> LiveReport:
    """The live verdict on paired requests: how often the small model agrees with the LLM, with anytime-valid
    95 % confidence sequences, and whether to cut over to it.

    Args:
        rows: The paired exchanges (:class:`~slmswap.live.PairedExchange`), a JSON-lines file of them (see
            :mod:`slmswap.live.exchange`), or the gateway's traffic store (a SQLite file or a ``postgresql://``
            URL; its paired rows, :func:`~slmswap.live.read_store`). They are taken in order of arrival
            (``time``).
        bar: What the small model must reach, ``METRIC>=VALUE`` (:func:`~slmswap.live.parse_bar`).
        since: Only requests at or after this time (a datetime, or an ISO 8601 string; UTC when it has no zone).
        alpha: The error level of the confidence sequences (0.05: 95 %).

    Raises:
        ConfigError: When ``bar`` is not a bar.
        DataError: When a file row is not a paired exchange (naming the file, line and field).
        ValueError: When ``since`` is not an ISO 8601 time.
    """
    chosen = parse_bar(bar) if isinstance(bar, str) else bar
    start = parse_time(since if isinstance(since, str) else since.isoformat()) if since is not None else None
    store = rows if isinstance(rows, (str, os.PathLike)) and is_store(rows) else None
    if store is not None:
        exchanges: Iterable[PairedExchange] = read_store(store)
    elif isinstance(rows, (str, os.PathLike)):
        exchanges = read_exchanges(rows)
    else:
        exchanges = rows
    ordered = sorted((e for e in exchanges if start is None or e.time >= start), key=lambda e: e.time)
    # from a store, the fallbacks over every request the small model was to answer (not only the pairs)
    fell_back = (
        fallback_counts(list(read_fallback_reasons(store, since=start))) if store is not None else fallbacks(ordered)
    )
    table = agreement_table(ordered, alpha=alpha, include=(chosen.threshold,))
    # a figure that applies to no pair yet has an empty sequence
    figure = table.overall.get(chosen.metric) or Agreement(
        chosen.metric, confidence_sequence([], alpha=alpha), np.zeros(0, dtype=np.int64)
    )
    return LiveReport(
        verdict=decide(figure, chosen, requests=len(ordered)),
        agreement=table,
        llm=model_traffic([e.llm for e in ordered], [e.llm_seconds for e in ordered]),
        slm=model_traffic([e.slm for e in ordered], [e.slm_seconds for e in ordered]),
        fallbacks=fell_back,
        requests=len(ordered),
        first=ordered[0].time if ordered else None,
        last=ordered[-1].time if ordered else None,
        since=start,
    )
