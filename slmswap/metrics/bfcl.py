"""The BFCL AST metric: the Berkeley Function Calling Leaderboard's own verdict on a prediction's calls.

:func:`~slmswap.data.load_bfcl` keeps what the verdict needs in the conversation's metadata: the category
(``bfcl_category``), the function specs as BFCL wrote them (``bfcl_functions``) and the ``possible_answer``
ground truth (``bfcl_ground_truth``). The rules are BFCL's, quirks included (:mod:`slmswap.metrics.bfcl_checker`);
slmswap's own metrics (``exact_match``, ``arguments_exact_match``, ``argument_f1``) stay stricter and simpler
where BFCL is lenient or odd, and the metrics guide lists where the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slmswap.metrics.base import MetricBase, ScoredExample
from slmswap.metrics.bfcl_checker import BfclVerdict, bfcl_check

__all__ = ["BfclAstMatch", "bfcl_verdict"]


def _entries(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping) and len(entry) == 1]


def bfcl_verdict(example: ScoredExample) -> BfclVerdict | None:
    """BFCL's verdict on ``example``, or ``None`` when it is not a BFCL example (no category, or neither ground
    truth nor an irrelevance/relevance category; or no function specs kept). An output that cannot be read
    counts as no call, as on the leaderboard (which then passes it in an irrelevance category)."""
    category = example.metadata.get("bfcl_category")
    if not isinstance(category, str):
        return None
    truth = example.metadata.get("bfcl_ground_truth")
    functions = example.metadata.get("bfcl_functions")
    turn = example.prediction.turn
    calls = [{call.name: call.arguments} for call in turn.tool_calls] if turn is not None else []
    if "relevance" in category:  # also irrelevance: no ground truth, only whether a call was made
        return bfcl_check(calls, [], [], category)
    if truth is None or not isinstance(functions, list):
        return None
    if turn is None:
        return BfclVerdict(False, "ast_decoder:decoder_failed", "the output could not be read")
    specs: Sequence[Mapping[str, Any]] = [spec for spec in functions if isinstance(spec, Mapping)]
    return bfcl_check(calls, specs, _entries(truth), category)


class BfclAstMatch(MetricBase):
    """BFCL's AST verdict (1 passes, 0 fails); applies to examples loaded from BFCL."""

    name = "bfcl_ast_match"

    def score(self, example: ScoredExample) -> float | None:
        """1.0 or 0.0, or ``None`` for non-BFCL examples."""
        verdict = bfcl_verdict(example)
        return None if verdict is None else float(verdict.valid)
