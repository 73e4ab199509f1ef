"""What a traffic store holds, in numbers: requests per model and per tool called, errors, latency percentiles,
tokens and redactions (``slmswap traffic STORE``)."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slmswap.data.traffic import read_exchanges, store_name

__all__ = ["TrafficSummary", "summarize"]


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (``None`` when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class TrafficSummary:
    """Counts and percentiles over the exchanges of one store."""

    store: str
    requests: int = 0
    errors: int = 0
    streamed: int = 0
    models: Counter[str] = field(default_factory=Counter)
    tools: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_ms: list[float] = field(default_factory=list)
    upstream_ms: list[float] = field(default_factory=list)

    def render(self) -> str:
        """The summary as the command prints it."""

        def ms(values: Sequence[float], fraction: float) -> str:
            value = _percentile(values, fraction)
            return "-" if value is None else f"{value:.0f} ms"

        lines = [
            f"{self.store}: {self.requests} requests ({self.streamed} streamed), {self.errors} errors, "
            f"{self.requests - self.errors} usable as training data",
            f"latency p50 {ms(self.total_ms, 0.5)}, p95 {ms(self.total_ms, 0.95)} "
            f"(upstream p50 {ms(self.upstream_ms, 0.5)}, p95 {ms(self.upstream_ms, 0.95)})",
            f"tokens: {self.prompt_tokens} prompt, {self.completion_tokens} completion",
        ]
        for title, counts in (
            ("per model", self.models),
            ("per tool called", self.tools),
            ("per status", self.statuses),
            ("per tag", self.tags),
            ("redactions", self.redactions),
        ):
            if counts:
                lines.append(f"{title}:")
                lines.extend(f"  {name}: {n}" for name, n in counts.most_common())
        return "\n".join(lines)


def summarize(
    store: str | os.PathLike[str], *, since: datetime | float | str | None = None, tag: str | None = None
) -> TrafficSummary:
    """Count what ``store`` holds (from ``since`` on, with ``tag`` only, when given)."""
    summary = TrafficSummary(store=store_name(store))
    for row in read_exchanges(store, since=since, tag=tag):
        summary.requests += 1
        summary.streamed += bool(row["stream"])
        summary.errors += row["status"] != 200 or row["error"] is not None
        summary.models[row["model"] or "?"] += 1
        summary.statuses[row["status"]] += 1
        if row["tag"] is not None:
            summary.tags[row["tag"]] += 1
        for call in row["tool_calls"] or []:
            summary.tools[str(call.get("function", {}).get("name", "?"))] += 1
        summary.redactions.update(row["redactions"] or {})
        summary.prompt_tokens += row["prompt_tokens"] or 0
        summary.completion_tokens += row["completion_tokens"] or 0
        summary.total_ms.append(row["total_ms"])
        if row["upstream_ms"] is not None:
            summary.upstream_ms.append(row["upstream_ms"])
    return summary
