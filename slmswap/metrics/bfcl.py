"""BFCL-style AST matching of tool calls against ground truth that lists acceptable values.

The ground truth is BFCL's ``possible_answer`` form, kept by :func:`~slmswap.data.load_bfcl` in
``metadata["bfcl_ground_truth"]``: ``[{"function": {"param": [acceptable values]}}, ...]``. A prediction
matches when its calls can be paired one-to-one with the ground-truth entries (parallel calls in any order)
so that in each pair:

* the function names are equal;
* every predicted parameter is one the ground truth knows, and every parameter whose acceptable values do not
  include ``""`` (the mark of an optional parameter) is present (an empty list of acceptable values means the
  parameter must be left out);
* each value is acceptable: strings compare after BFCL's normalisation (case, spaces and ``,./-_*^``
  dropped), an int is accepted where a float is expected, lists compare element by element and nested
  objects key by key, each key with its own acceptable values.

For the irrelevance categories the only correct answer is no call at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from slmswap.metrics.base import MetricBase, ScoredExample
from slmswap.schema import ToolCall

__all__ = ["BfclAstMatch", "ast_match"]

_PUNCTUATION = re.compile(r"[ ,./\-_*^]")


def _standard(text: str) -> str:
    return _PUNCTUATION.sub("", text).lower()


def _value_matches(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if isinstance(expected, int):  # an integer parameter takes integers only
        return isinstance(value, int) and value == expected
    if isinstance(expected, float):  # a float parameter also takes an integer of the same value
        return isinstance(value, (int, float)) and float(value) == expected
    if isinstance(expected, str):
        return isinstance(value, str) and _standard(value) == _standard(expected)
    if isinstance(expected, list):
        return (
            isinstance(value, list)
            and len(value) == len(expected)
            and all(_value_matches(v, e) for v, e in zip(value, expected, strict=True))
        )
    if isinstance(expected, Mapping):
        return isinstance(value, Mapping) and _arguments_match(value, expected)
    return bool(value == expected)


def _acceptable(value: Any, acceptable: Any) -> bool:
    options = acceptable if isinstance(acceptable, list) else [acceptable]
    return any(_value_matches(value, option) for option in options if option != "")


def _arguments_match(arguments: Mapping[str, Any], truth: Mapping[str, Any]) -> bool:
    if any(name not in truth for name in arguments):
        return False
    for name, acceptable in truth.items():
        # "" among the acceptable values marks an optional parameter; no acceptable value at all, one to leave out
        optional = isinstance(acceptable, list) and ("" in acceptable or not acceptable)
        if name not in arguments:
            if not optional:
                return False
        elif not _acceptable(arguments[name], acceptable):
            return False
    return True


def _call_matches(call: ToolCall, entry: Mapping[str, Any]) -> bool:
    ((name, truth),) = entry.items()
    return call.name == name and isinstance(truth, Mapping) and _arguments_match(call.arguments, truth)


def ast_match(calls: Sequence[ToolCall], ground_truth: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``calls`` match ``ground_truth`` one-to-one, in any order (an empty truth: no calls)."""
    if len(calls) != len(ground_truth):
        return False
    return _pair(list(calls), list(ground_truth))


def _pair(calls: list[ToolCall], entries: list[Mapping[str, Any]]) -> bool:
    if not calls:
        return True
    first, rest = calls[0], calls[1:]
    for k, entry in enumerate(entries):
        if _call_matches(first, entry) and _pair(rest, entries[:k] + entries[k + 1 :]):
            return True
    return False


class BfclAstMatch(MetricBase):
    """BFCL's AST check; applies to examples carrying BFCL ground truth or from an irrelevance category."""

    name = "bfcl_ast_match"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` for non-BFCL examples."""
        truth = example.metadata.get("bfcl_ground_truth")
        category = str(example.metadata.get("bfcl_category", ""))
        if truth is None and "irrelevance" not in category:
            return None
        turn = example.prediction.turn
        if turn is None:
            return 0.0
        if truth is None:  # irrelevance: the right answer is not to call
            return float(not turn.tool_calls)
        entries = (
            [entry for entry in truth if isinstance(entry, Mapping) and len(entry) == 1]
            if isinstance(truth, list)
            else []
        )
        return float(ast_match(turn.tool_calls, entries))
