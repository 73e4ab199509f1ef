"""How often the small model agrees with the LLM on live traffic, overall and per tool, each figure with its
anytime-valid confidence sequence.

Each pair is scored by the task metrics (:mod:`slmswap.metrics.task`) with the LLM's answer as the reference and
the small model's answer as the prediction, checked against the request's tools as an offline evaluation
checks a parsed answer (:func:`~slmswap.formats.check_calls`: a call of a tool the request did not offer, or
arguments that break its schema, is not a valid call). So the live figures are the offline metrics of the same
answers:

* ``valid_call`` — where the LLM called: the small model made a valid call;
* ``tool_name_match`` — the small model called the same tools (no call where the LLM made none);
* ``arguments_exact_match`` — where the LLM called: the same calls with deep-equal arguments;
* ``abstention`` — where the LLM made no call though tools were offered: the small model made none either.

Per tool means per tool the LLM called (:data:`~slmswap.metrics.NO_CALL` for answers without a call), as in the
offline report. Each figure's sequence runs over the pairs it applies to, in arrival order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from slmswap.formats import ParseFailure, ParseResult, check_calls
from slmswap.live.confidence import ALPHA, ConfidenceSequence, confidence_sequence
from slmswap.live.exchange import PairedExchange
from slmswap.metrics import NO_CALL, Abstention, ArgumentsExactMatch, Metric, ScoredExample, ToolNameMatch, ValidCall
from slmswap.schema import Message, ToolCall

__all__ = ["LIVE_METRICS", "Agreement", "AgreementTable", "agreement_table", "scored_pair"]

LIVE_METRICS = ("valid_call", "tool_name_match", "arguments_exact_match", "abstention")
"""The agreement figures, in the order they are shown."""


def _metrics() -> list[Metric]:
    return [ValidCall(), ToolNameMatch(), ArgumentsExactMatch(), Abstention()]


def _turn(content: str, tool_calls: Sequence[ToolCall]) -> Message | None:
    """An answer as an assistant turn; ``None`` when it has neither text nor calls."""
    if not content.strip() and not tool_calls:
        return None
    return Message.assistant(content=content or None, tool_calls=tuple(tool_calls))


def scored_pair(exchange: PairedExchange) -> ScoredExample | None:
    """The pair as an example the metrics score: the LLM's answer is the reference, the small model's answer,
    checked against the request's tools, the prediction. ``None`` when the LLM's answer is empty (nothing to
    agree with)."""
    reference = _turn(exchange.llm.content, exchange.llm.tool_calls)
    if reference is None:
        return None
    if exchange.slm is None:
        prediction = ParseResult(None, ParseFailure.BACKEND_ERROR, exchange.slm_error or "no answer")
    else:
        turn = _turn(exchange.slm.content, exchange.slm.tool_calls)
        prediction = (
            check_calls(turn, exchange.tools)
            if turn is not None
            else ParseResult(None, ParseFailure.EMPTY, "the answer has no text and no calls")
        )
    return ScoredExample(reference=reference, prediction=prediction, tools=exchange.tools)


@dataclass(frozen=True)
class Agreement:
    """One agreement figure: the share of pairs that agree, with its 95 % confidence sequence."""

    metric: str
    sequence: ConfidenceSequence
    """Over the pairs the metric applies to, in arrival order."""
    positions: NDArray[np.int64]
    """For each of the sequence's pairs, how many paired requests had arrived by then (its 1-based position)."""

    @property
    def n(self) -> int:
        """Pairs the metric applied to."""
        return self.sequence.n

    @property
    def value(self) -> float:
        """The share of those pairs that agree (``nan`` when none)."""
        return float(self.sequence.mean[-1]) if self.n else float("nan")

    @property
    def lower(self) -> float:
        """The confidence sequence's current lower bound."""
        return self.sequence.bounds[0]

    @property
    def upper(self) -> float:
        """The confidence sequence's current upper bound."""
        return self.sequence.bounds[1]


@dataclass(frozen=True)
class AgreementTable:
    """Every agreement figure, overall and per tool the LLM called."""

    overall: dict[str, Agreement]
    """Metric name → its figure (a metric that applies to no pair is left out)."""
    by_tool: dict[str, dict[str, Agreement]]
    """Tool name (:data:`~slmswap.metrics.NO_CALL` for answers without a call) → metric name → its figure."""
    scored: int
    """Pairs scored (those with an LLM answer to agree with)."""
    unscored: int
    """Pairs left out because the LLM's answer was empty."""


def agreement_table(
    exchanges: Sequence[PairedExchange], *, alpha: float = ALPHA, include: Sequence[float] = ()
) -> AgreementTable:
    """Score every pair (in the order given: arrival order) and build each figure's confidence sequence;
    ``include`` adds candidate means to every sequence's grid (a bar, so that it is decided exactly)."""
    metrics = _metrics()
    kept = [(position, e) for position, e in enumerate(map(scored_pair, exchanges), start=1) if e is not None]
    scores = {metric.name: [metric.score(example) for _, example in kept] for metric in metrics}

    def figures(members: Sequence[int]) -> dict[str, Agreement]:
        table = {}
        for name in LIVE_METRICS:
            pairs = [(kept[i][0], score) for i in members if (score := scores[name][i]) is not None]
            if pairs:
                sequence = confidence_sequence([score for _, score in pairs], alpha=alpha, include=include)
                positions = np.asarray([position for position, _ in pairs], dtype=np.int64)
                table[name] = Agreement(metric=name, sequence=sequence, positions=positions)
        return table

    members: dict[str, list[int]] = {}
    for index, (_, example) in enumerate(kept):
        for tool in sorted({call.name for call in example.reference.tool_calls}) or [NO_CALL]:
            members.setdefault(tool, []).append(index)
    return AgreementTable(
        overall=figures(range(len(kept))),
        by_tool={tool: figures(indices) for tool, indices in sorted(members.items())},
        scored=len(kept),
        unscored=len(exchanges) - len(kept),
    )
