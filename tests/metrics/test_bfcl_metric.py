"""The BFCL AST metric, on real BFCL possible-answer rows read from the bfcl-eval wheel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmswap.data import load_bfcl_wheel
from slmswap.formats import ParseResult
from slmswap.metrics import BfclAstMatch, ScoredExample, ast_match, score_examples
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


def test_float_parameters_accept_integers(simple: list[Conversation]) -> None:
    row = next(c for c in simple if c.id == "simple_python_4")  # solve_quadratic_equation {"a": [2], "b": [6], ...}
    truth = row.metadata["bfcl_ground_truth"]
    assert truth == [{"solve_quadratic_equation": {"a": [2], "b": [6], "c": [5]}}]
    as_float = [{"solve_quadratic_equation": {"a": [2.0], "b": [6.0], "c": [5.0]}}]
    call = ToolCall(name="solve_quadratic_equation", arguments={"a": 2, "b": 6, "c": 5})
    assert ast_match([call], as_float)  # an int where a float is expected
    assert not ast_match([ToolCall(name="solve_quadratic_equation", arguments={"a": 2.5, "b": 6, "c": 5})], as_float)


@pytest.mark.parametrize(
    "category", ["simple_python", "multiple", "parallel", "parallel_multiple", "live_simple", "live_multiple"]
)
def test_loader_targets_are_accepted_answers(bfcl_wheel: Path, category: str) -> None:
    """The loader's target (first acceptable value of each parameter) passes the AST check on every real row."""
    conversations = list(load_bfcl_wheel(bfcl_wheel, category))
    examples = [scored(c, list(c.messages[-1].tool_calls)) for c in conversations]
    report = score_examples(examples, [METRIC])
    assert report.values["bfcl_ast_match"].n == len(conversations)
    assert report.values["bfcl_ast_match"].value == 1.0


def test_parallel_calls_match_in_any_order(bfcl_wheel: Path) -> None:
    row = load_bfcl_wheel(bfcl_wheel, "parallel")[0]  # spotify.play twice, Taylor Swift then Maroon 5
    calls = list(row.messages[-1].tool_calls)
    assert METRIC.score(scored(row, calls[::-1])) == 1.0
    assert METRIC.score(scored(row, calls[:1])) == 0.0  # one call missing
    assert METRIC.score(scored(row, [calls[0], calls[0]])) == 0.0  # the same call twice


def test_irrelevance_means_no_call(bfcl_wheel: Path) -> None:
    row = load_bfcl_wheel(bfcl_wheel, "irrelevance")[0]
    assert METRIC.score(scored(row, [])) == 1.0
    assert METRIC.score(scored(row, [ToolCall(name=row.tools[0].name, arguments={})])) == 0.0


def test_nested_objects_and_lists() -> None:
    truth = [{"book": {"guests": [[{"name": ["Ann", "Anne"], "age": [30.0]}]], "note": ["", "quiet"]}}]
    good = ToolCall(name="book", arguments={"guests": [{"name": "anne", "age": 30}]})
    assert ast_match([good], truth)
    assert not ast_match([ToolCall(name="book", arguments={"guests": [{"name": "Bob", "age": 30}]})], truth)
    assert not ast_match([ToolCall(name="book", arguments={"guests": []})], truth)
    assert json.dumps(truth)  # plain JSON, as stored in conversation metadata


def test_not_applicable_without_ground_truth() -> None:
    example = ScoredExample(reference=Message.assistant("hi"), prediction=ParseResult(Message.assistant("hi")))
    assert METRIC.score(example) is None
