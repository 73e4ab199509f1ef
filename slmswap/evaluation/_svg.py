"""Inline SVG charts for the HTML reports: horizontal bars with intervals, line charts, and a line with its
confidence band.

Every chart carries a visible title, axis labels and a ``<title>`` for screen readers; colours are CSS
classes (``series-0``, ``series-1``, ...) and text is ``currentColor``, so the page's light and dark styles
apply. A bar at zero is drawn as a mark on the axis, so that a score of 0 is seen, not missed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from slmswap.metrics.stats import Interval

__all__ = ["Band", "Bar", "Line", "band_chart", "bar_chart", "line_chart"]

_LEFT_PAD = 12


@dataclass(frozen=True)
class Bar:
    """One bar: a value in [0, 1] with its interval, and the tooltip that states them."""

    interval: Interval
    tip: str


@dataclass(frozen=True)
class Line:
    """One series of a line chart."""

    label: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Band:
    """A series with a band around it: at each ``x``, the value and the band's lower and upper edge."""

    label: str
    points: Sequence[tuple[float, float, float, float]]
    """``(x, value, lower, upper)``, in order of ``x``."""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _open(width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title><desc>{_esc(description)}</desc>",
        f'<text class="chart-title" x="{width / 2:.0f}" y="22" text-anchor="middle">{_esc(title)}</text>',
    ]


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Bar | None]]],
    *,
    x_label: str,
    y_label: str,
) -> str:
    """Horizontal bars on a 0–1 scale: one group per category (its name on the left), one bar per series (a
    run), each with its interval as a whisker and its value written at its end."""
    bar, gap = 16, 14
    label_width = 10 + 8 * max((len(name) for name in categories), default=4)
    plot_left, plot_width = _LEFT_PAD + 24 + label_width, 520
    group = bar * len(series) + gap
    top = 56
    height = top + group * len(categories) + 58
    width = plot_left + plot_width + 70
    parts = _open(width, height, title, f"{y_label} by {x_label}, one bar per run, whiskers: 95 % intervals")
    bottom = top + group * len(categories)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = plot_left + tick * plot_width
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<line class="axis" x1="{plot_left}" y1="{top - 6}" x2="{plot_left}" y2="{bottom}"/>')
    for g, name in enumerate(categories):
        y0 = top + g * group
        middle = y0 + bar * len(series) / 2
        parts.append(
            f'<text class="category" x="{plot_left - 8}" y="{middle + 5:.1f}" text-anchor="end">{_esc(name)}</text>'
        )
        for k, (_, bars) in enumerate(series):
            value = bars[g]
            if value is None:
                continue
            y = y0 + k * bar
            length = max(value.interval.value, 0.0) * plot_width
            parts.append(
                f'<rect class="series-{k}" x="{plot_left}" y="{y + 1}" width="{max(length, 3):.1f}" '
                f'height="{bar - 3}"><title>{_esc(value.tip)}</title></rect>'
            )
            low, high = plot_left + value.interval.low * plot_width, plot_left + value.interval.high * plot_width
            mid = y + (bar - 1) / 2
            parts.append(f'<line class="whisker" x1="{low:.1f}" y1="{mid:.1f}" x2="{high:.1f}" y2="{mid:.1f}"/>')
            parts.append(
                f'<text class="value" x="{max(high, plot_left + length) + 6:.1f}" y="{mid + 4:.1f}">'
                f"{value.interval.value:.2f}</text>"
            )
    parts.append(
        f'<text class="axis-label x-label" x="{plot_left + plot_width / 2:.0f}" y="{bottom + 42}" '
        f'text-anchor="middle">{_esc(x_label)}</text>'
    )
    parts.append(
        f'<text class="axis-label y-label" x="{_LEFT_PAD + 6}" y="{(top + bottom) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 {_LEFT_PAD + 6} {(top + bottom) / 2:.0f})">{_esc(y_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


class _Frame:
    """A chart's plot area: data coordinates to the SVG's, and the grid, ticks, axes and axis labels."""

    width, height = 520, 300
    left, right, top, bottom = 78, 20, 44, 300 - 62

    def __init__(self, xs: Sequence[float], y_ticks: list[float]) -> None:
        self.x_ticks = _nice_ticks(min(0.0, min(xs)), max(xs), count=6)
        self.y_ticks = y_ticks

    def at(self, x: float, y: float) -> tuple[float, float]:
        """The SVG point of the data point ``(x, y)``."""
        (x_min, x_max), (y_min, y_max) = (self.x_ticks[0], self.x_ticks[-1]), (self.y_ticks[0], self.y_ticks[-1])
        return (
            self.left + (x - x_min) / (x_max - x_min) * (self.width - self.left - self.right),
            self.bottom - (y - y_min) / (y_max - y_min) * (self.bottom - self.top),
        )

    def axes(self, parts: list[str]) -> None:
        """The grid and the ticks (drawn first, under the data)."""
        left, right, bottom = self.left, self.right, self.bottom
        for tick in self.y_ticks:
            _, y = self.at(self.x_ticks[0], tick)
            parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{self.width - right}" y2="{y:.1f}"/>')
            parts.append(f'<text class="tick" x="{left - 6}" y="{y + 5:.1f}" text-anchor="end">{tick:g}</text>')
        for tick in self.x_ticks:
            x, _ = self.at(tick, self.y_ticks[0])
            parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 20}" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<line class="axis" x1="{left}" y1="{bottom}" x2="{self.width - right}" y2="{bottom}"/>')
        parts.append(f'<line class="axis" x1="{left}" y1="{self.top}" x2="{left}" y2="{bottom}"/>')

    def labels(self, parts: list[str], x_label: str, y_label: str) -> None:
        """The axis labels, and the end of the chart."""
        middle = (self.top + self.bottom) / 2
        parts.append(
            f'<text class="axis-label x-label" x="{(self.left + self.width - self.right) / 2:.0f}" '
            f'y="{self.height - 16}" text-anchor="middle">{_esc(x_label)}</text>'
        )
        parts.append(
            f'<text class="axis-label y-label" x="18" y="{middle:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 18 {middle:.0f})">{_esc(y_label)}</text>'
        )
        parts.append("</svg>")


def line_chart(
    title: str,
    lines: Sequence[Line],
    *,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines with a marker at every point; the y axis starts at zero (or covers ``y_range``)."""
    xs = [x for line in lines for x, _ in line.points] or [0.0, 1.0]
    ys = [y for line in lines for _, y in line.points] or [0.0, 1.0]
    frame = _Frame(xs, _nice_ticks(*(y_range or (min(0.0, min(ys)), max(ys)))))
    parts = _open(frame.width, frame.height, title, f"{y_label} by {x_label}")
    frame.axes(parts)
    for k, line in enumerate(lines):
        points = [frame.at(x, y) for x, y in line.points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line series-{k}" points="{path}"/>')
        for (x, y), (step, value) in zip(points, line.points, strict=True):
            parts.append(
                f'<circle class="series-{k}" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                f"<title>{_esc(f'{line.label}: {value:.4g} at step {step:g}')}</title></circle>"
            )
    frame.labels(parts, x_label, y_label)
    return "".join(parts)


_MAX_BAND_POINTS = 400
"""A band of more points is thinned to about this many (evenly, the last point kept): the page stays small."""


def band_chart(
    title: str,
    band: Band,
    *,
    x_label: str,
    y_label: str,
    threshold: tuple[str, float] | None = None,
) -> str:
    """A line on a 0–1 scale inside its shaded band (a confidence sequence around a running mean), with an
    optional dashed horizontal line at ``threshold`` (its label, its value)."""
    points = list(band.points)
    if len(points) > _MAX_BAND_POINTS:
        step = math.ceil(len(points) / _MAX_BAND_POINTS)
        points = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
    frame = _Frame([p[0] for p in points] or [0.0, 1.0], _nice_ticks(0.0, 1.0))
    parts = _open(frame.width, frame.height, title, f"{y_label} by {x_label}, with its band")
    frame.axes(parts)
    if points:
        edge = [frame.at(x, upper) for x, _, _, upper in points] + [
            frame.at(x, lower) for x, _, lower, _ in points[::-1]
        ]
        parts.append(
            f'<polygon class="band series-0" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in edge)}">'
            f"<title>{_esc(f'{band.label}: its 95 % band')}</title></polygon>"
        )
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (frame.at(x, value) for x, value, _, _ in points))
        parts.append(f'<polyline class="line series-0" points="{line}"><title>{_esc(band.label)}</title></polyline>')
        x, value, lower, upper = points[-1]
        end_x, end_y = frame.at(x, value)
        tip = f"{band.label}: {value:.3f} [{lower:.3f}, {upper:.3f}] after {x:g}"
        parts.append(
            f'<circle class="series-0" cx="{end_x:.1f}" cy="{end_y:.1f}" r="3.5"><title>{_esc(tip)}</title></circle>'
        )
    if threshold is not None:
        label, value = threshold
        _, y = frame.at(0.0, value)
        parts.append(
            f'<line class="threshold" x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{frame.width - frame.right - 4}" y="{y + 16:.1f}" text-anchor="end">'
            f"{_esc(label)}</text>"
        )
    frame.labels(parts, x_label, y_label)
    return "".join(parts)
