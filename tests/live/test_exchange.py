"""Paired rows from a JSON-lines file: answers read by the OpenAI codec, a broken small-model answer counted
against the small model, bad rows named by file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmswap.errors import DataError
from slmswap.live import live_verdict, read_exchanges
from tests.live.pairs import body, call, planted, write_jsonl


def test_a_file_holds_what_the_typed_rows_hold(tmp_path: Path) -> None:
    rows = planted(0.9, 50, seed=4)
    read = list(read_exchanges(write_jsonl(tmp_path / "pairs.jsonl", rows)))
    assert [(e.id, e.time, e.tools, e.llm_seconds, e.fallback) for e in read] == [
        (e.id, e.time, e.tools, e.llm_seconds, e.fallback) for e in rows
    ]
    assert [[c.name for c in e.slm.tool_calls] for e in read if e.slm] == [["get_weather"]] * 50
    assert live_verdict(tmp_path / "pairs.jsonl").to_markdown() == live_verdict(rows).to_markdown()


def _row(**fields: object) -> str:
    row = {"time": "2026-12-02T10:00:00", "tools": [], "llm": body(call("Paris")), "slm": body(call("Paris"))}
    return json.dumps({**row, **fields}) + "\n"


def test_a_bare_message_and_a_broken_small_model_answer_are_read(tmp_path: Path) -> None:
    bare = {"role": "assistant", "content": "Which city?"}
    path = tmp_path / "pairs.jsonl"
    path.write_text(_row(llm=bare, slm=bare) + _row(slm={"choices": []}) + _row(slm=None, slm_error="timeout"))
    first, second, third = read_exchanges(path)
    assert first.llm.content == first.slm.content == "Which city?"  # type: ignore[union-attr]
    assert first.time.tzinfo is not None  # no zone: UTC
    assert second.slm is None
    assert second.slm_error is not None
    assert second.slm_error.startswith("malformed answer")
    assert (third.slm, third.slm_error, third.id) == (None, "timeout", "3")  # no id: the line number
    assert live_verdict(path).agreement.overall["valid_call"].value == 0.0


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (_row(llm={"choices": [{}]}), "llm.choices[0].message"),
        (_row(time="yesterday"), "time"),
        (_row(llm_seconds=-1), "llm_seconds"),
        (_row(tools=[{"type": "function", "function": {"name": ""}}]), "tools[0]"),
    ],
)
def test_a_bad_row_is_named_by_file_line_and_field(tmp_path: Path, row: str, field: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(_row() + row)
    with pytest.raises(DataError) as caught:
        list(read_exchanges(path))
    assert (caught.value.source, caught.value.line) == (str(path), 2)
    assert caught.value.field is not None
    assert caught.value.field.startswith(field)
