"""Exact duplicates: requests equal after normalisation collapse to one example, labelled with the majority
answer, and the LLM's agreement with itself is measured where it answered one request more than once.

Normalisation: whitespace runs in every text become one space (leading and trailing whitespace goes), call ids
are ignored, and the offered tools are compared as a set (their order does not matter). Answers are compared
in canonical form (:func:`~slmswap.metrics.canonical_turn`: calls order-free, JSON content parsed).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from slmswap.curation._memo import PerTools
from slmswap.curation.example import Example
from slmswap.formats.base import ParseResult
from slmswap.metrics import ArgumentsExactMatch, ExactMatch, ScoredExample, ToolNameMatch, canonical_turn
from slmswap.schema import Conversation, Message, Tool

__all__ = ["AGREEMENT_METRICS", "DuplicateGroup", "SelfAgreement", "collapse", "request_key", "self_agreement"]

AGREEMENT_METRICS = (ExactMatch(), ToolNameMatch(), ArgumentsExactMatch())
"""The task metrics self-agreement is measured on (the same that score a model against the labels)."""


def request_key(request: Conversation, tools_key: str | None = None) -> str:
    """A hash of ``request`` after normalisation: equal for requests that differ only in whitespace, call ids
    and the order of their tools (``tools_key``: the key of its tools, when already known)."""
    messages = [
        [
            message.role,
            " ".join((message.content or "").split()),
            [[call.name, call.arguments] for call in message.tool_calls],
            message.name,
        ]
        for message in request.messages
    ]
    tools = tools_key if tools_key is not None else _tools_key(request.tools)
    text = json.dumps([messages, tools], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _tools_key(tools: tuple[Tool, ...]) -> str:
    """The offered tools as one string, whatever their order."""
    return json.dumps(sorted(json.dumps(tool.model_dump(mode="json"), sort_keys=True) for tool in tools))


@dataclass(frozen=True)
class DuplicateGroup:
    """Examples with the same normalised request: the one kept, and the others."""

    kept: Example
    """The first example whose answer is the majority answer (ties: the answer seen first)."""
    others: tuple[Example, ...]
    """The rest, collapsed into :attr:`kept`."""

    @property
    def answers(self) -> list[Message]:
        """Every answer the group's examples hold."""
        return [e.answer.message for e in (self.kept, *self.others) if e.answer.message is not None]


def collapse(examples: Sequence[Example]) -> list[DuplicateGroup]:
    """``examples`` (valid ones: each has an answer) grouped by normalised request, in order of first sight."""
    groups: dict[str, list[Example]] = {}
    tools_key = PerTools(_tools_key)
    for example in examples:
        groups.setdefault(request_key(example.request, tools_key(example.request.tools)), []).append(example)
    return [_group(members) for members in groups.values()]


def _group(members: list[Example]) -> DuplicateGroup:
    if len(members) == 1:
        return DuplicateGroup(members[0], ())
    keys = [canonical_turn(e.answer.message) if e.answer.message is not None else "" for e in members]
    counts = Counter(keys)
    majority = max(counts, key=lambda key: (counts[key], -keys.index(key)))
    chosen = keys.index(majority)
    return DuplicateGroup(members[chosen], tuple(m for k, m in enumerate(members) if k != chosen))


class SelfAgreement(BaseModel):
    """How often two answers the LLM gave the same request agree, per task metric: the ceiling of any model
    scored against labels that are that LLM's answers."""

    model_config = ConfigDict(frozen=True)

    requests: int
    """Requests answered more than once."""
    answers: int
    """Answers those requests hold."""
    unanimous: int
    """Requests whose answers are all the same."""
    metrics: dict[str, float]
    """Per metric, the mean score of one answer against another of the same request, over every ordered pair of
    answers (a metric that applies to no pair is left out)."""


def self_agreement(groups: Sequence[DuplicateGroup]) -> SelfAgreement:
    """The LLM's agreement with itself over the groups answered more than once."""
    repeated = [group for group in groups if len(group.answers) > 1]
    totals: dict[str, float] = {}
    weights: dict[str, float] = {}
    for group in repeated:
        distinct: dict[str, tuple[Message, int]] = {}
        for answer in group.answers:
            key = canonical_turn(answer)
            first, seen = distinct.get(key, (answer, 0))
            distinct[key] = (first, seen + 1)
        tools = group.kept.request.tools
        for reference, n_reference in distinct.values():
            for prediction, n_prediction in distinct.values():
                pairs = n_reference * (n_prediction - 1 if prediction is reference else n_prediction)
                if pairs == 0:
                    continue
                example = ScoredExample(reference=reference, prediction=ParseResult(prediction), tools=tools)
                for metric in AGREEMENT_METRICS:
                    score = metric.score(example)
                    if score is not None:
                        totals[metric.name] = totals.get(metric.name, 0.0) + score * pairs
                        weights[metric.name] = weights.get(metric.name, 0.0) + pairs
    return SelfAgreement(
        requests=len(repeated),
        answers=sum(len(group.answers) for group in repeated),
        unanimous=sum(len({canonical_turn(a) for a in group.answers}) == 1 for group in repeated),
        metrics={name: totals[name] / weights[name] for name in totals},
    )
