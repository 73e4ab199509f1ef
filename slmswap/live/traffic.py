"""What the paired traffic cost: each model's latency (p50, p95) and tokens, and how often, and why, the small
model's answer was replaced by the LLM's (fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slmswap.data.openai import OpenAIAnswer
from slmswap.live.exchange import PairedExchange
from slmswap.metrics import count_issue_kinds

__all__ = ["Fallbacks", "ModelTraffic", "fallback_counts", "fallbacks", "model_traffic"]


@dataclass(frozen=True)
class ModelTraffic:
    """One model's side of the paired requests."""

    answered: int
    """Requests it gave an answer to."""
    p50_seconds: float | None
    p95_seconds: float | None
    """Latency percentiles over the requests whose latency was recorded (``None``: none was)."""
    prompt_tokens: int
    completion_tokens: int
    """Totals over the answers that reported usage."""
    with_usage: int
    """Answers that reported usage."""


def model_traffic(answers: Sequence[OpenAIAnswer | None], seconds: Sequence[float | None]) -> ModelTraffic:
    """One model's latency and tokens over its ``answers`` (``None``: no answer) and their latencies."""
    timed = np.asarray([s for s in seconds if s is not None], dtype=np.float64)
    p50, p95 = (float(v) for v in np.percentile(timed, [50, 95])) if timed.size else (None, None)
    given = [answer for answer in answers if answer is not None]
    reported = [a for a in given if a.prompt_tokens is not None or a.completion_tokens is not None]
    return ModelTraffic(
        answered=len(given),
        p50_seconds=p50,
        p95_seconds=p95,
        prompt_tokens=sum(a.prompt_tokens or 0 for a in reported),
        completion_tokens=sum(a.completion_tokens or 0 for a in reported),
        with_usage=len(reported),
    )


@dataclass(frozen=True)
class Fallbacks:
    """How often the small model's answer was replaced by the LLM's, and why."""

    count: int
    requests: int
    reasons: dict[str, int]
    """Reason kind (the text before the first ``:``, e.g. ``unknown_tool``, ``timeout``) → how many; most
    frequent first."""

    @property
    def rate(self) -> float:
        """The share of requests that fell back (0 when there were none)."""
        return self.count / self.requests if self.requests else 0.0

    def describe(self) -> str:
        """One sentence: how many of the requests fell back."""
        if not self.requests:
            return "The small model answered no client (shadow mode): nothing could fall back."
        return (
            f"{self.count} of the {self.requests} requests the small model was to answer fell back to the LLM "
            f"({self.rate:.1%})."
        )


def fallbacks(exchanges: Sequence[PairedExchange]) -> Fallbacks:
    """The fallbacks among ``exchanges``, counted by reason kind."""
    return fallback_counts([exchange.fallback for exchange in exchanges])


def fallback_counts(reasons: Sequence[str | None]) -> Fallbacks:
    """The fallbacks among requests, each given by its fallback reason (``None``: it did not fall back), counted
    by reason kind."""
    given = [reason for reason in reasons if reason is not None]
    return Fallbacks(count=len(given), requests=len(reasons), reasons=count_issue_kinds([reason] for reason in given))
