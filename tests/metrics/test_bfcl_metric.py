"""The BFCL AST metric, on real BFCL possible-answer rows read from the bfcl-eval wheel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmswap.data import load_bfcl_wheel
from slmswap.formats import ParseFailure, ParseResult
from slmswap.metrics import BfclAstMatch, ScoredExample, bfcl_check, score_examples
from slmswap.schema import Conversation, Message, ToolCall

METRIC = BfclAstMatch()


def scored(conversation: Conversation, calls: list[ToolCall]) -> ScoredExample:
    turn = Message.assistant(tool_calls=calls) if calls else Message.assistant("I cannot help with that.")
    reference = conversation.messages[-1] if conversation.messages[-1].role == "assistant" else turn
    return ScoredExample(reference=reference, prediction=ParseResult(turn), metadata=conversation.metadata)


@pytest.fixture(scope="module")
def simple(bfcl_wheel: Path) -> list[Conversation]:
    return list(load_bfcl_wheel(bfcl_wheel, "simple_python"))


def test_triangle_area_row(simple: list[Conversation]) -> None:
    row = simple[0]  # {"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}
    assert row.metadata["bfcl_ground_truth"] == [
        {"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}
    ]

    def call(**arguments: object) -> float | None:
        return METRIC.score(scored(row, [ToolCall(name="calculate_triangle_area", arguments=arguments)]))

    assert call(base=10, height=5) == 1.0  # the optional unit may be omitted
    assert call(base=10, height=5, unit="Units") == 1.0  # strings compare after normalisation
    assert call(base=10, height=5, unit="cm") == 0.0  # not an acceptable value
    assert call(base=10) == 0.0  # a required parameter is missing
    assert call(base=10, height=5, colour="red") == 0.0  # an unknown parameter
    assert call(base=10.0, height=5) == 0.0  # an integer parameter takes integers only
    assert METRIC.score(scored(row, [ToolCall(name="calculate_area", arguments={"base": 10, "height": 5})])) == 0.0
    assert METRIC.score(scored(row, [])) == 0.0


def test_declared_types_decide(simple: list[Conversation]) -> None:
    row = next(c for c in simple if c.id == "simple_python_4")  # solve_quadratic_equation {"a": [2], "b": [6], ...}
    truth = row.metadata["bfcl_ground_truth"]
    assert truth == [{"solve_quadratic_equation": {"a": [2], "b": [6], "c": [5]}}]
    functions = row.metadata["bfcl_functions"]
    assert isinstance(functions, list)
    as_float = [{"solve_quadratic_equation": {"a": [2.0], "b": [6.0], "c": [5.0]}}]
    as_float_spec = json.loads(json.dumps(functions).replace('"integer"', '"float"'))

    def check(truth: object, spec: object, **arguments: object) -> bool:
        calls = [{"solve_quadratic_equation": arguments}]
        return bfcl_check(calls, spec, truth, "simple_python").valid  # type: ignore[arg-type]

    assert check(as_float, as_float_spec, a=2, b=6, c=5)  # an int where a float is declared
    assert not check(as_float, as_float_spec, a=2.5, b=6, c=5)
    assert check(truth, as_float_spec, a=2.0, b=6, c=5)  # 2.0 for a float whose answer is 2: equal by value
    assert not check(truth, functions, a=2.0, b=6, c=5)  # an integer parameter takes integers only


def test_required_and_declared_parameters_are_enforced(simple: list[Conversation]) -> None:
    row = simple[0]
    functions = row.metadata["bfcl_functions"]
    loose = [
        {"calculate_triangle_area": {"base": [10, ""], "height": [5], "unit": ["units", ""], "colour": ["red", ""]}}
    ]

    def check(**arguments: object) -> bool:
        return bfcl_check([{"calculate_triangle_area": arguments}], functions, loose, "simple_python").valid  # type: ignore[arg-type]

    assert not check(height=5)  # base is required by the function, though "" is among its answers
    assert not check(base=10, height=5, colour="red")  # not declared by the function, though the answer lists it
    assert check(base=10, height=5, unit="")  # an explicit "" for an optional string is one of its answers


UNSATISFIABLE = {
    "live_simple_106-63-0": "a required parameter has no acceptable value ([])",
    "live_simple_112-68-0": "a required parameter has no acceptable value ([])",
    "live_multiple_862-181-3": "the answer needs a parameter the function does not declare",
    "live_multiple_964-207-0": "the answer leaves out a parameter the function requires",
}
"""Rows whose possible answer BFCL's own checker accepts no call for (errors in the data): every model fails them."""


@pytest.mark.parametrize(
    "category",
    ["simple_python", "multiple", "parallel", "parallel_multiple", "live_simple", "live_multiple", "live_parallel"],
)
def test_loader_targets_are_accepted_answers(bfcl_wheel: Path, category: str) -> None:
    """The loader's target passes BFCL's check on every real row that any answer can pass."""
    conversations = list(load_bfcl_wheel(bfcl_wheel, category))
    examples = [scored(c, list(c.messages[-1].tool_calls)) for c in conversations]
    report = score_examples(examples, [METRIC], ids=[c.id for c in conversations])
    assert report.values["bfcl_ast_match"].n == len(conversations)
    failed = {i for i, score in zip(report.example_ids, report.scores["bfcl_ast_match"], strict=True) if not score}
    assert failed == {i for i in UNSATISFIABLE if i.startswith(category + "_")}


def test_parallel_calls_match_in_any_order(bfcl_wheel: Path) -> None:
    row = load_bfcl_wheel(bfcl_wheel, "parallel")[0]  # spotify.play twice, Taylor Swift then Maroon 5
    calls = list(row.messages[-1].tool_calls)
    assert METRIC.score(scored(row, calls[::-1])) == 1.0
    assert METRIC.score(scored(row, calls[:1])) == 0.0  # one call missing
    assert METRIC.score(scored(row, [calls[0], calls[0]])) == 0.0  # the same call twice


def test_irrelevance_means_no_call(bfcl_wheel: Path) -> None:
    row = load_bfcl_wheel(bfcl_wheel, "irrelevance")[0]
    assert row.messages[-1].role == "assistant"
    assert not row.messages[-1].tool_calls  # the target: no call
    assert METRIC.score(scored(row, [])) == 1.0
    assert METRIC.score(scored(row, [ToolCall(name=row.tools[0].name, arguments={})])) == 0.0
    unreadable = ScoredExample(
        reference=row.messages[-1],
        prediction=ParseResult(None, ParseFailure.MALFORMED_CALL, "unclosed tag"),
        tools=row.tools,
        metadata=row.metadata,
    )
    assert METRIC.score(unreadable) == 1.0  # as on the leaderboard: what cannot be decoded is no call


def test_parallel_matching_is_greedy() -> None:
    spec = {"name": "f", "parameters": {"type": "dict", "properties": {"x": {"type": "string"}}, "required": []}}
    truth = [{"f": {"x": ["a", ""]}}, {"f": {"x": ["a"]}}]
    # BFCL pairs the first entry with the first call that passes and never reconsiders: [{"x": "a"}, {}] would pass
    # in the other pairing, but the greedy one takes "a" for the first entry and has only {} left for the second
    assert not bfcl_check([{"f": {"x": "a"}}, {"f": {}}], [spec], truth, "parallel").valid
    assert bfcl_check([{"f": {}}, {"f": {"x": "a"}}], [spec], truth, "parallel").valid


def test_not_applicable_without_ground_truth() -> None:
    example = ScoredExample(reference=Message.assistant("hi"), prediction=ParseResult(Message.assistant("hi")))
    assert METRIC.score(example) is None
