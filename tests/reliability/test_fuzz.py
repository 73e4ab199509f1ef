"""Fuzzing: loaders and every format's parser only ever raise the documented error types, and stay bounded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slmswap.data import load_conversations
from slmswap.errors import DataError
from slmswap.formats import ParseResult, get_format
from slmswap.schema import Tool

FORMATS = ["hermes", "xml", "cep", "structured"]
TOOL = Tool(name="f", parameters={"type": "object", "properties": {"a": {"type": "integer"}}})

json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "messages",
        "conversations",
        "query",
        "answers",
        "tools",
        "question",
        "function",
        "prompt",
        "completion",
        "role",
        "content",
        "from",
        "value",
        "tool_calls",
        "arguments",
        "name",
        "id",
    ]
)
rows = st.dictionaries(keys, json_values, max_size=6)
tagged = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            [
                "<tool_call>",
                "</tool_call>",
                '<tool_call name="f">',
                "<tool_call name='f'/>",
                "{",
                "}",
                '"',
                "```json\n",
                "```",
                "<think>",
                "</think>",
                '{"name": "f", "arguments": {"a": 1}}',
                "[" * 50,
                "9" * 5000,
                "\\u0000",
                "'name': 'f'",
            ]
        ),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row_list=st.lists(rows, max_size=4))
def test_loaders_raise_only_data_errors(row_list: list[dict[str, Any]]) -> None:
    try:
        loaded = load_conversations(row_list, on_error="collect")
    except DataError:
        return  # e.g. no shape could be detected
    assert all(isinstance(error, DataError) for error in loaded.errors)
    assert len(loaded) + len(loaded.errors) <= len(row_list)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_files_of_arbitrary_bytes(raw: bytes, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(raw)
    raised: list[DataError] = []
    try:
        load_conversations(path, on_error="collect")
    except DataError as exc:  # an unreadable or shapeless file; it must name the file
        raised.append(exc)
    assert all(str(path) in str(exc) for exc in raised)


@pytest.mark.parametrize("name", FORMATS)
@settings(max_examples=300, deadline=None)
@given(text=tagged)
def test_parse_never_raises_and_is_bounded(name: str, text: str) -> None:
    fmt = get_format(name)
    for strict in (True, False):
        started = time.perf_counter()
        result = fmt.parse(text, tools=[TOOL], strict=strict)
        assert isinstance(result, ParseResult)
        assert time.perf_counter() - started < 2.0  # bounded, not a benchmark: catches runaway backtracking
        if result.ok:
            assert result.turn is not None


@pytest.mark.parametrize("name", FORMATS)
def test_adversarial_inputs(name: str) -> None:
    fmt = get_format(name)
    adversarial = [
        "<tool_call>" * 50_000,
        "{" * 200_000,
        '<tool_call name="f">' + '{"a": ' * 20_000 + "1" + "}" * 20_000 + "</tool_call>",
        "<tool_call>" + json.dumps({"name": "f", "arguments": {"a": "x" * 1_000_000}}) + "</tool_call>",
        "```" * 10_000,
    ]
    for text in adversarial:
        started = time.perf_counter()
        fmt.parse(text, strict=False)
        fmt.parse(text)
        assert time.perf_counter() - started < 10.0
