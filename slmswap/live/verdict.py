"""The cut-over verdict: one agreement figure against a bar such as ``arguments_exact_match>=0.90``.

* **cut over** — the confidence sequence's lower bound has reached the bar: the agreement is above the bar
  with 95 % confidence;
* **stop** — its upper bound has come down to the bar: the agreement is below the bar with 95 % confidence;
* **not yet** — the bar lies inside the sequence, with an estimate of how many more requests would decide it if
  the agreement stays at its current rate.

Because the bounds form a confidence sequence, the verdict may be read after every request: when the true
agreement sits exactly at the bar, a "cut over" is ever shown in at most 2.5 % of runs, however often it was
looked at (each side of a 95 % sequence errs at most 2.5 %). The verdict also never flips back: the bounds are a
running intersection.

The estimate of the requests still needed projects the betting itself forward: from the capital the bar's
candidate holds now, each further pair adds the log gain expected if pairs keep agreeing as they have so far
(the empirical distribution of the figure's values), with the bet the plug-in would make then
(:func:`~slmswap.live.confidence.projected_exclusion`). The pairs still needed are converted to requests by the
share of requests the figure applies to. It is a planning guide that assumes the rate holds (in simulation its
median is within about 1.5x of when the verdict actually came); the verdict itself rests on the sequence alone.
With the agreement at the bar, no number of requests decides it, and there is no estimate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from slmswap.errors import ConfigError
from slmswap.live.agreement import LIVE_METRICS, Agreement
from slmswap.live.confidence import projected_exclusion

__all__ = ["DEFAULT_BAR", "Bar", "CutoverVerdict", "Decision", "decide", "parse_bar"]

DEFAULT_BAR = "arguments_exact_match>=0.90"
"""The bar when none is given: the small model makes the LLM's calls, arguments included, 90 % of the time."""

Decision = Literal["cut over", "not yet", "stop"]
"""What to do: cut over to the small model, keep collecting, or stop (it does not reach the bar)."""

_BAR = re.compile(r"^\s*(?P<metric>[a-z_]+)\s*>=\s*(?P<value>[0-9.]+)\s*(?P<percent>%?)\s*$")


@dataclass(frozen=True)
class Bar:
    """An agreement figure that must reach a threshold: ``metric >= threshold``."""

    metric: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}>={self.threshold:g}"


def parse_bar(text: str) -> Bar:
    """A bar written ``METRIC>=VALUE``: ``arguments_exact_match>=0.90`` (or ``>=90%``), ``METRIC`` one of
    :data:`~slmswap.live.agreement.LIVE_METRICS`, ``VALUE`` strictly between 0 and 1.

    Raises:
        ConfigError: Saying what is wrong with ``text`` and what is expected.
    """
    match = _BAR.match(text)
    if match is None:
        raise ConfigError(f"{text!r} is not a bar: write METRIC>=VALUE, e.g. {DEFAULT_BAR}")
    metric = match["metric"]
    if metric not in LIVE_METRICS:
        raise ConfigError(f"{text!r}: unknown metric {metric!r}; expected one of {', '.join(LIVE_METRICS)}")
    try:
        threshold = float(match["value"]) / (100 if match["percent"] else 1)
    except ValueError:
        raise ConfigError(f"{text!r}: {match['value']!r} is not a number") from None
    if not 0 < threshold < 1:
        raise ConfigError(f"{text!r}: the bar must lie strictly between 0 and 1 (or 0% and 100%)")
    return Bar(metric, threshold)


@dataclass(frozen=True)
class CutoverVerdict:
    """The verdict on one figure against its bar, with the numbers that decided it."""

    decision: Decision
    bar: Bar
    requests: int
    """Paired requests seen."""
    n: int
    """Of those, the pairs the bar's figure applies to."""
    value: float
    lower: float
    upper: float
    """The figure's current 95 % confidence sequence."""
    decided_at: int | None
    """Cut over or stop: after how many paired requests the bound crossed the bar."""
    more_requests: int | None
    """Not yet: about how many more paired requests would decide it at the current rate (``None``: no
    estimate)."""
    drift: bool = False
    """The sequence is empty (its bounds met): the agreement did not stay at one rate."""

    def describe(self) -> str:
        """One line saying what to do, and why."""
        figure = f"{self.bar.metric} {self.value:.3f} [{self.lower:.3f}, {self.upper:.3f}] over {self.n} pairs"
        if self.drift:
            return (
                f"stop: {self.bar.metric} did not stay at one rate (its 95 % confidence sequence is empty); "
                "look at what changed before cutting over"
            )
        if self.decision == "cut over":
            return (
                f"cut over: {figure}: above the bar {self.bar.threshold:g} with 95 % confidence, "
                f"decided after {self.decided_at} paired requests"
            )
        if self.decision == "stop":
            return (
                f"stop: {figure}: below the bar {self.bar.threshold:g} with 95 % confidence, "
                f"decided after {self.decided_at} paired requests"
            )
        if not self.n:
            return f"not yet: no pair {self.bar.metric} applies to so far"
        if self.more_requests is None:
            estimate = "no estimate: at the current rate the bar stays inside"
        else:
            estimate = f"about {self.more_requests} more paired requests at the current rate"
        return f"not yet: {figure}: the bar {self.bar.threshold:g} lies inside; {estimate}"


def _pairs_needed(agreement: Agreement, threshold: float) -> int | None:
    """After how many pairs the bar would be decided at the current rate (``None``: not within reach)."""
    below, above = projected_exclusion(agreement.sequence.values, threshold, alpha=agreement.sequence.alpha)
    when = below if agreement.value > threshold else above if agreement.value < threshold else math.inf
    return int(when) if math.isfinite(when) else None


def decide(agreement: Agreement, bar: Bar, *, requests: int) -> CutoverVerdict:
    """The verdict on ``agreement`` (the bar's figure, over ``requests`` paired requests) against ``bar``.

    For the bar to be decided exactly, ``bar.threshold`` must be on the sequence's grid (``include``)."""
    sequence = agreement.sequence
    lower, upper = sequence.bounds

    def verdict(decision: Decision, decided_at: int | None = None, more: int | None = None) -> CutoverVerdict:
        return CutoverVerdict(
            decision, bar, requests, agreement.n, agreement.value, lower, upper, decided_at, more, drift=lower >= upper
        )

    if lower >= upper:
        return verdict("stop")
    first = sequence.first_time(sequence.lower >= bar.threshold)
    if first is not None:
        return verdict("cut over", decided_at=int(agreement.positions[first - 1]))
    first = sequence.first_time(sequence.upper <= bar.threshold)
    if first is not None:
        return verdict("stop", decided_at=int(agreement.positions[first - 1]))
    pairs = _pairs_needed(agreement, bar.threshold) if agreement.n else None
    return verdict("not yet", more=None if pairs is None else math.ceil((pairs - agreement.n) * requests / agreement.n))
