"""Task metrics for tool calls and structured JSON answers.

* ``valid_call`` — where the reference makes calls: the output is a well-formed call in the format (it parses
  strictly, with at least one call; prose is no call);
* ``abstention`` — where the reference makes no call though tools are offered: the output makes none;
* ``call_precision`` / ``call_recall`` — making a call at all, as a decision: of the outputs that call, how
  many should (precision); of the references that call, how many outputs do (recall);
* ``valid_output`` — the output parses under the format in strict mode (prose parses too);
* ``exact_match`` — the whole turn equals the reference in canonical JSON (calls compared as a multiset);
* ``tool_name_match`` — the called tools' names equal the reference's (as a multiset; no call for no call);
* ``arguments_exact_match`` — every reference call is made with deep-equal arguments (after JSON parsing);
* ``argument_f1`` — field-level precision, recall and F1 over flattened ``(path, value)`` pairs of the call
  arguments (or of the JSON answer), macro (the score) and micro (in ``extra``).

Parallel calls count in any order, also several calls of one tool (paired with the reference's calls of that
tool in the order that matches best).

:func:`issues` lists what is wrong with one prediction, with the first offending paths, for people to read.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import permutations
from typing import Any

from slmswap.metrics.base import PLACEHOLDER_TEXT, MetricBase, MetricValue, ScoredExample
from slmswap.metrics.bfcl import bfcl_verdict
from slmswap.schema import Message, ToolCall

__all__ = [
    "Abstention",
    "ArgumentF1",
    "ArgumentsExactMatch",
    "CallPrecision",
    "CallRecall",
    "ExactMatch",
    "ToolNameMatch",
    "ValidCall",
    "ValidOutput",
    "canonical_turn",
    "count_issue_kinds",
    "flatten",
    "issue_kind",
    "issues",
]


def _normal(value: Any) -> Any:
    """JSON value with integral floats as ints, so ``1`` and ``1.0`` compare equal in canonical JSON."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(_normal(value), sort_keys=True, ensure_ascii=False)


def _json_content(turn: Message) -> Any:
    """The content parsed as JSON when it is JSON, else the stripped text."""
    text = (turn.content or "").strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def canonical_turn(turn: Message) -> str:
    """A canonical JSON string of a turn: its content (as JSON when it is JSON) and its calls, order-free."""
    calls = sorted(_canonical({"name": c.name, "arguments": c.arguments}) for c in turn.tool_calls)
    return _canonical({"content": _json_content(turn) if turn.content else None, "calls": calls})


def flatten(value: Any, prefix: str = "") -> Counter[tuple[str, str]]:
    """``(path, canonical value)`` pairs of the leaves of a JSON value (nested keys joined with dots)."""
    pairs: Counter[tuple[str, str]] = Counter()
    if isinstance(value, dict) and value:
        for key, item in value.items():
            pairs += flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            pairs += flatten(item, f"{prefix}[{index}]")
    else:
        pairs[(prefix, _canonical(value))] += 1
    return pairs


_MAX_PERMUTED = 6
"""Up to this many calls of one tool are paired with the reference's by trying every order."""


def _aligned(predicted: Sequence[ToolCall], reference: Sequence[ToolCall]) -> list[ToolCall]:
    """``predicted`` with the calls of each tool reordered to line up best with the reference's calls of it,
    so that parallel calls of one tool count in any order."""
    result = list(predicted)
    for name in {call.name for call in predicted}:
        slots = [k for k, call in enumerate(predicted) if call.name == name]
        wanted = [flatten(call.arguments) for call in reference if call.name == name]
        if len(slots) < 2 or not wanted or len(slots) > _MAX_PERMUTED:
            continue
        calls = [predicted[k] for k in slots]

        def overlap(
            order: tuple[int, ...], calls: list[ToolCall] = calls, wanted: list[Counter[tuple[str, str]]] = wanted
        ) -> int:
            return sum(sum((flatten(calls[i].arguments) & w).values()) for i, w in zip(order, wanted, strict=False))

        best = max(permutations(range(len(calls))), key=overlap)
        for slot, i in zip(slots, best, strict=True):
            result[slot] = calls[i]
    return result


def _call_pairs(calls: Sequence[ToolCall]) -> Counter[tuple[str, str]]:
    pairs: Counter[tuple[str, str]] = Counter()
    seen: Counter[str] = Counter()
    for call in calls:
        pairs += flatten(call.arguments, f"{call.name}#{seen[call.name]}")
        seen[call.name] += 1
    return pairs


def _fields(turn: Message, reference: Message | None = None) -> Counter[tuple[str, str]] | None:
    if turn.tool_calls:
        calls = _aligned(turn.tool_calls, reference.tool_calls) if reference is not None else turn.tool_calls
        return _call_pairs(calls)
    content = _json_content(turn)
    return flatten(content) if isinstance(content, dict) else None


class ValidOutput(MetricBase):
    """1 when the output parses under the format in strict mode."""

    name = "valid_output"

    def score(self, example: ScoredExample) -> float:
        """1.0 or 0.0."""
        return float(example.prediction.ok)


def _calls(example: ScoredExample) -> bool:
    """Whether the prediction makes a call (read from the syntax, even where a later check failed)."""
    turn = example.prediction.turn
    return turn is not None and bool(turn.tool_calls)


class ValidCall(MetricBase):
    """1 when the output is a well-formed call in the format (strict parse, at least one call); applies where
    the reference makes calls."""

    name = "valid_call"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` when the reference makes no call."""
        if not example.reference.tool_calls:
            return None
        return float(example.prediction.ok and _calls(example))


class Abstention(MetricBase):
    """1 when the output makes no call (and can be read); applies where the reference makes no call while tools
    are offered."""

    name = "abstention"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` when the reference calls or no tool is offered."""
        if example.reference.tool_calls or not example.tools:
            return None
        return float(example.prediction.turn is not None and not _calls(example))


class CallPrecision(MetricBase):
    """Of the outputs that make a call, the share whose reference makes one too (mean over the outputs that
    call)."""

    name = "call_precision"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` when the output makes no call."""
        if not _calls(example):
            return None
        return float(bool(example.reference.tool_calls))


class CallRecall(MetricBase):
    """Of the references that make a call, the share whose output makes one too, well-formed or not."""

    name = "call_recall"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` when the reference makes no call."""
        if not example.reference.tool_calls:
            return None
        return float(_calls(example))


class ExactMatch(MetricBase):
    """1 when the predicted turn equals the reference in canonical JSON; does not apply where the reference's
    text is a placeholder (:data:`~slmswap.metrics.PLACEHOLDER_TEXT`)."""

    name = "exact_match"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0 (an unreadable prediction scores 0), or ``None`` for a placeholder reference."""
        if example.metadata.get(PLACEHOLDER_TEXT) is True and not example.reference.tool_calls:
            return None
        turn = example.prediction.turn
        return float(turn is not None and canonical_turn(turn) == canonical_turn(example.reference))


class ToolNameMatch(MetricBase):
    """1 when the predicted calls name the same tools as the reference (a multiset; no calls for no calls)."""

    name = "tool_name_match"

    def score(self, example: ScoredExample) -> float:
        """1.0 or 0.0."""
        turn = example.prediction.turn
        if turn is None:
            return 0.0
        return float(Counter(c.name for c in turn.tool_calls) == Counter(c.name for c in example.reference.tool_calls))


class ArgumentsExactMatch(MetricBase):
    """1 when every reference call is made, with deep-equal arguments; applies to references with calls."""

    name = "arguments_exact_match"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` when the reference has no calls."""
        if not example.reference.tool_calls:
            return None
        turn = example.prediction.turn
        if turn is None:
            return 0.0
        canonical = Counter(_canonical({"name": c.name, "arguments": c.arguments}) for c in turn.tool_calls)
        expected = Counter(_canonical({"name": c.name, "arguments": c.arguments}) for c in example.reference.tool_calls)
        return float(canonical == expected)


class ArgumentF1(MetricBase):
    """Field-level F1 over flattened argument (or JSON answer) fields; the score is per example (macro), and
    ``extra`` holds micro precision, recall and F1 over all fields of the set."""

    name = "argument_f1"
    binary = False

    @staticmethod
    def counts(example: ScoredExample) -> tuple[int, int, int] | None:
        """True positives, false positives and false negatives, or ``None`` when not applicable."""
        expected = _fields(example.reference)
        if expected is None:
            return None
        turn = example.prediction.turn
        predicted = (_fields(turn, example.reference) if turn is not None else None) or Counter()
        true_positives = sum((expected & predicted).values())
        return true_positives, sum(predicted.values()) - true_positives, sum(expected.values()) - true_positives

    def score(self, example: ScoredExample) -> float | None:
        """F1 of one example (1.0 when both sides have no fields)."""
        counts = self.counts(example)
        if counts is None:
            return None
        return _f1(*counts)

    def aggregate(
        self, examples: Sequence[ScoredExample], scores: Sequence[float | None], seed: int = 0
    ) -> MetricValue:
        """Macro F1 with its interval, plus micro precision, recall and F1."""
        base = super().aggregate(examples, scores, seed)
        totals = [c for c in (self.counts(e) for e in examples) if c is not None]
        tp, fp, fn = (sum(c[i] for c in totals) for i in range(3))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        extra = {"micro_precision": precision, "micro_recall": recall, "micro_f1": _f1(tp, fp, fn)}
        return base.model_copy(update={"extra": extra})


def _f1(tp: int, fp: int, fn: int) -> float:
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)


def issue_kind(issue: str) -> str:
    """The kind of one of :func:`issues`' lines: the text before its first ``:`` (``"missing_fields"``)."""
    return issue.split(":", 1)[0].strip()


def count_issue_kinds(issue_lists: Iterable[Sequence[str]]) -> dict[str, int]:
    """How many of the examples (one list of :func:`issues` each) show each issue kind; most frequent first, ties
    by name."""
    kinds = Counter(kind for lines in issue_lists for kind in {issue_kind(line) for line in lines})
    return dict(sorted(kinds.items(), key=lambda item: (-item[1], item[0])))


def issues(example: ScoredExample, *, limit: int = 3) -> list[str]:
    """What is wrong with one prediction, e.g. ``["tool_name_mismatch", "missing_fields: get_weather#0.city"]``.

    Each line starts with its kind (:func:`issue_kind`): the parse failure (``unknown_tool``, ``bad_arguments``,
    ...) or ``prediction_not_valid_json`` / ``invalid_output`` when nothing could be read; ``no_call`` (prose
    where a call was due), ``unwanted_call`` (a call where none was), ``tool_name_mismatch``; ``missing_fields``,
    ``extra_fields``, ``value_mismatch`` with the first offending paths; and on BFCL rows BFCL's own error type
    (``bfcl.simple_function_checker.missing_required``, ``bfcl.type_error.simple``, ...)."""
    prediction = example.prediction
    found: list[str] = []
    if prediction.turn is None:
        kind = (
            "prediction_not_valid_json"
            if prediction.failure and "json" in prediction.failure.value
            else "invalid_output"
        )
        return [f"{kind}: {prediction.failure.value if prediction.failure else ''} {prediction.detail}".strip()]
    if prediction.failure is not None:
        found.append(f"{prediction.failure.value}: {prediction.detail}")
    turn, reference = prediction.turn, example.reference
    if reference.tool_calls and not turn.tool_calls:
        found.append("no_call")
    elif turn.tool_calls and not reference.tool_calls:
        found.append(f"unwanted_call: {', '.join(call.name for call in turn.tool_calls[:limit])}")
    elif Counter(c.name for c in turn.tool_calls) != Counter(c.name for c in reference.tool_calls):
        found.append("tool_name_mismatch")
    verdict = bfcl_verdict(example)
    if verdict is not None and not verdict.valid and verdict.error_type:
        found.append(f"bfcl.{verdict.error_type.replace(':', '.')}: {verdict.error}".rstrip(": "))
    expected, predicted = _fields(reference), _fields(turn, reference)
    if expected is not None:
        predicted = predicted or Counter()
        expected_paths = dict(expected.keys())  # (path, value) pairs; a Counter's keys, not its counts
        predicted_paths = dict(predicted.keys())
        missing = [p for p in expected_paths if p not in predicted_paths]
        extra = [p for p in predicted_paths if p not in expected_paths]
        wrong = [p for p in expected_paths if p in predicted_paths and expected_paths[p] != predicted_paths[p]]
        for label, paths in (("missing_fields", missing), ("extra_fields", extra), ("value_mismatch", wrong)):
            if paths:
                found.append(f"{label}: {', '.join(paths[:limit])}")
    return found
