"""Task metrics with hand-computed expectations."""

from __future__ import annotations

import json

import pytest

from slmswap.formats import get_format
from slmswap.metrics import (
    ArgumentF1,
    ArgumentsExactMatch,
    ExactMatch,
    ScoredExample,
    ToolNameMatch,
    ValidOutput,
    canonical_turn,
    compare,
    flatten,
    issues,
    score_examples,
)
from slmswap.schema import Message, ToolCall

HERMES = get_format("hermes")
STRUCTURED = get_format("structured")


def hermes_example(reference_args: dict[str, object], predicted: str, name: str = "get_weather") -> ScoredExample:
    reference = Message.assistant(tool_calls=[ToolCall(name=name, arguments=reference_args)])
    return ScoredExample(reference=reference, prediction=HERMES.parse(predicted))


def call_text(name: str, arguments: dict[str, object]) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def test_one_wrong_argument() -> None:
    example = hermes_example({"city": "Paris", "unit": "c"}, call_text("get_weather", {"city": "Paris", "unit": "f"}))
    assert ValidOutput().score(example) == 1.0
    assert ExactMatch().score(example) == 0.0
    assert ToolNameMatch().score(example) == 1.0
    assert ArgumentsExactMatch().score(example) == 0.0
    # expected {city, unit=c}, predicted {city, unit=f}: tp 1, fp 1, fn 1 -> F1 = 2/(2+1+1)
    assert ArgumentF1().score(example) == pytest.approx(0.5)
    assert issues(example) == ["value_mismatch: get_weather#0.unit"]


def test_perfect_call_with_int_float_equivalence() -> None:
    example = hermes_example({"n": 3, "x": 1.0}, call_text("get_weather", {"x": 1, "n": 3.0}))
    assert [m.score(example) for m in (ExactMatch(), ArgumentsExactMatch(), ArgumentF1())] == [1.0, 1.0, 1.0]
    assert issues(example) == []


def test_wrong_tool_and_invalid_output() -> None:
    wrong = hermes_example({"city": "Paris"}, call_text("get_time", {"city": "Paris"}))
    assert ToolNameMatch().score(wrong) == 0.0
    assert ArgumentsExactMatch().score(wrong) == 0.0
    assert ArgumentF1().score(wrong) == 0.0  # get_time#0.city is not get_weather#0.city
    assert "tool_name_mismatch" in issues(wrong)
    broken = hermes_example({"city": "Paris"}, "<tool_call>{'name': oops</tool_call>")
    assert [m.score(broken) for m in (ValidOutput(), ExactMatch(), ToolNameMatch(), ArgumentF1())] == [0, 0, 0, 0]
    assert issues(broken)[0].startswith("prediction_not_valid_json: invalid_json")


def test_parallel_calls_are_a_multiset() -> None:
    reference = Message.assistant(
        tool_calls=[ToolCall(name="f", arguments={"a": 1}), ToolCall(name="g", arguments={"b": 2})]
    )
    swapped = call_text("g", {"b": 2}) + "\n" + call_text("f", {"a": 1})
    example = ScoredExample(reference=reference, prediction=HERMES.parse(swapped))
    assert ExactMatch().score(example) == 1.0
    assert ArgumentsExactMatch().score(example) == 1.0


def test_parallel_calls_of_one_tool_in_any_order() -> None:
    reference = Message.assistant(
        tool_calls=[
            ToolCall(name="get_weather", arguments={"city": "Paris", "unit": "c"}),
            ToolCall(name="get_weather", arguments={"city": "Lyon", "unit": "c"}),
        ]
    )
    swapped = call_text("get_weather", {"city": "Lyon", "unit": "c"}) + call_text(
        "get_weather", {"city": "Paris", "unit": "f"}
    )
    example = ScoredExample(reference=reference, prediction=HERMES.parse(swapped))
    assert ArgumentsExactMatch().score(example) == 0.0  # Paris has the wrong unit
    # best pairing: Lyon with Lyon (2 of 2), Paris with Paris (city right, unit wrong): tp 3, fp 1, fn 1
    assert ArgumentF1().score(example) == pytest.approx(6 / 8)
    assert issues(example) == ["value_mismatch: get_weather#0.unit"]
    exact = ScoredExample(
        reference=reference,
        prediction=HERMES.parse(
            call_text("get_weather", {"city": "Lyon", "unit": "c"})
            + call_text("get_weather", {"city": "Paris", "unit": "c"})
        ),
    )
    assert ArgumentsExactMatch().score(exact) == 1.0
    assert ArgumentF1().score(exact) == 1.0


def test_text_reference_no_call_expected() -> None:
    example = ScoredExample(reference=Message.assistant("No tool needed."), prediction=HERMES.parse("Sure, no tool."))
    assert ToolNameMatch().score(example) == 1.0  # no call for no call
    assert ArgumentsExactMatch().score(example) is None  # not applicable
    assert ArgumentF1().score(example) is None


def test_structured_fields_hand_computed() -> None:
    reference = Message.assistant('{"a": 1, "b": {"c": [1, 2]}}')
    predicted = STRUCTURED.parse('{"a": 1.0, "b": {"c": [1, 3]}, "d": 0}')
    example = ScoredExample(reference=reference, prediction=predicted)
    # expected a, b.c[0], b.c[1]; predicted a, b.c[0], b.c[1]=3, d: tp 2, fp 2, fn 1 -> F1 = 4/7
    assert ArgumentF1().score(example) == pytest.approx(4 / 7)
    assert sorted(issues(example)) == ["extra_fields: d", "value_mismatch: b.c[1]"]
    assert flatten({"a": {"b": [True, None]}, "e": {}}) == {
        ("a.b[0]", "true"): 1,
        ("a.b[1]", "null"): 1,
        ("e", "{}"): 1,
    }


def test_micro_and_macro_f1_over_a_set() -> None:
    first = hermes_example({"city": "Paris", "unit": "c"}, call_text("get_weather", {"city": "Paris", "unit": "f"}))
    second = ScoredExample(
        reference=Message.assistant('{"a": 1, "b": {"c": [1, 2]}}'),
        prediction=STRUCTURED.parse('{"a": 1, "b": {"c": [1, 3]}, "d": 0}'),
    )
    report = score_examples([first, second], [ArgumentF1()])
    value = report.values["argument_f1"]
    assert value.value == pytest.approx((0.5 + 4 / 7) / 2)  # macro
    # micro: tp 1+2, fp 1+2, fn 1+1 -> P = 3/6, R = 3/5, F1 = 6/11
    assert value.extra["micro_precision"] == pytest.approx(0.5)
    assert value.extra["micro_recall"] == pytest.approx(0.6)
    assert value.extra["micro_f1"] == pytest.approx(6 / 11)
    assert value.n == 2


def test_canonical_turn_ignores_key_order_and_call_order() -> None:
    a = Message.assistant(tool_calls=[ToolCall(name="f", arguments={"x": 1, "y": [1.0]}), ToolCall(name="g")])
    b = Message.assistant(tool_calls=[ToolCall(name="g"), ToolCall(name="f", arguments={"y": [1], "x": 1})])
    assert canonical_turn(a) == canonical_turn(b)


def test_report_is_json_serialisable_and_compare_pairs_by_id() -> None:
    perfect = hermes_example({"city": "Paris"}, call_text("get_weather", {"city": "Paris"}))
    wrong = hermes_example({"city": "Paris"}, call_text("get_weather", {"city": "Lyon"}))
    base = score_examples([wrong] * 8 + [perfect] * 2, ids=[f"e{i}" for i in range(10)])
    tuned = score_examples([perfect] * 10, ids=[f"e{i}" for i in reversed(range(10))])
    assert base.model_validate_json(base.model_dump_json()) == base
    rows = {c.metric: c for c in compare(base, tuned)}
    exact = rows["arguments_exact_match"]
    assert (exact.a, exact.b, exact.difference) == (0.2, 1.0, pytest.approx(0.8))
    assert exact.relative == pytest.approx(4.0)
    assert exact.p_value == pytest.approx(2 / 2**8)  # 8 discordant pairs, all for the tuned run
    assert exact.significant
    assert rows["valid_output"].p_value == 1.0
    assert not rows["valid_output"].significant
