"""Calls and abstentions scored apart, and where a set of predictions fails, with hand-computed expectations."""

from __future__ import annotations

import json

from slmswap.formats import get_format
from slmswap.metrics import (
    NO_CALL,
    Abstention,
    CallPrecision,
    CallRecall,
    ScoredExample,
    ValidCall,
    ValidOutput,
    compare,
    score_examples,
)
from slmswap.schema import Message, Tool, ToolCall

HERMES = get_format("hermes")
WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CALLS = Message.assistant(tool_calls=[ToolCall(name="get_weather", arguments={"city": "Paris"})])
CHAT = Message.assistant("Hello!")


def call(city: object) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'get_weather', 'arguments': {'city': city}})}\n</tool_call>"


def example(reference: Message, output: str, tools: tuple[Tool, ...] = (WEATHER,)) -> ScoredExample:
    return ScoredExample(reference=reference, prediction=HERMES.parse(output, tools=tools), tools=tools)


def scores(item: ScoredExample) -> tuple[float | None, ...]:
    return tuple(metric.score(item) for metric in (ValidCall(), Abstention(), CallPrecision(), CallRecall()))


def test_prose_is_valid_output_but_no_call() -> None:
    prose = example(CALLS, "It is sunny in Paris.")
    assert ValidOutput().score(prose) == 1.0
    assert scores(prose) == (0.0, None, None, 0.0)


def test_calls_and_abstentions() -> None:
    assert scores(example(CALLS, call("Lyon"))) == (1.0, None, 1.0, 1.0)  # well-formed, if wrong
    assert scores(example(CALLS, call(75))) == (0.0, None, 1.0, 1.0)  # a call, but its arguments break the schema
    assert scores(example(CHAT, "Hi!")) == (None, 1.0, None, None)
    assert scores(example(CHAT, call("Paris"))) == (None, 0.0, 0.0, None)  # called where no call was due
    assert scores(example(CHAT, "<tool_call>{oops")) == (None, 0.0, None, None)  # unreadable is no abstention
    assert scores(example(CHAT, "Hi!", tools=())) == (None, None, None, None)  # no tool offered: nothing to resist


def test_precision_and_recall_over_a_set() -> None:
    items = [example(CALLS, call("Paris"))] * 3 + [example(CALLS, "Sunny.")] + [example(CHAT, call("Paris"))] * 2
    report = score_examples(items)
    assert report.values["call_precision"].value == 3 / 5
    assert report.values["call_recall"].value == 3 / 4
    assert report.values["abstention"].value == 0.0
    assert report.values["abstention"].n == 2
    assert list(report.values)[:2] == ["valid_call", "abstention"]  # the headline; valid_output comes last
    assert list(report.values)[-1] == "valid_output"


def test_paired_comparison_of_abstention() -> None:
    ids = ["a", "b", "c", "d"]
    base = score_examples([example(CHAT, "Hi!")] * 4, ids=ids)
    eager = score_examples([example(CHAT, call("Paris"))] * 4, ids=ids)
    (row,) = [row for row in compare(base, eager) if row.metric == "abstention"]
    assert (row.a, row.b, row.difference, row.interval_excludes_zero) == (1.0, 0.0, -1.0, True)
    assert row.p_value == 0.125
    assert not row.significant  # four examples: McNemar cannot call it, so neither does the report


def test_breakdowns_by_tool_category_and_issue_kind() -> None:
    def tagged(reference: Message, output: str, category: str) -> ScoredExample:
        item = example(reference, output)
        return ScoredExample(item.reference, item.prediction, item.tools, {"bfcl_category": category})

    items = [
        tagged(CALLS, call("Paris"), "simple"),
        tagged(CALLS, call("Lyon"), "simple"),
        tagged(CALLS, "No idea.", "multiple"),
        tagged(CHAT, call("Paris"), "irrelevance"),
    ]
    report = score_examples(items)
    assert set(report.by_tool) == {"get_weather", NO_CALL}
    assert report.by_tool["get_weather"]["valid_call"].value == 2 / 3
    assert report.by_tool["get_weather"]["valid_call"].n == 3
    assert report.by_tool[NO_CALL]["abstention"].value == 0.0
    assert "abstention" not in report.by_tool["get_weather"]
    assert report.by_category["simple"]["arguments_exact_match"].value == 0.5
    assert set(report.by_category) == {"simple", "multiple", "irrelevance"}
    assert report.issue_counts == {
        "missing_fields": 1,
        "value_mismatch": 1,
        "no_call": 1,
        "unwanted_call": 1,
        "bfcl.irrelevance_error.decoder_success": 1,  # BFCL's own verdict on the irrelevance row
    }
    assert score_examples(items[:1]).by_category == {"simple": score_examples(items[:1]).by_category["simple"]}
    assert score_examples([example(CALLS, call("Paris"))]).by_category == {}
