"""Bad rows: every error names the source, the line (or index) and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmswap.data import load_conversations, load_openai, load_sharegpt, load_xlam
from slmswap.errors import DataError, SlmswapError

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def test_malformed_json_line_names_the_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "rows.jsonl", [json.dumps(GOOD), json.dumps(GOOD), '{"messages": [{"role": "us'])
    with pytest.raises(DataError, match="malformed JSON") as info:
        load_openai(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ")


def test_missing_field(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "rows.jsonl", [json.dumps(GOOD), json.dumps({"id": 1})])
    with pytest.raises(DataError) as info:
        load_openai(path)
    assert (info.value.line, info.value.field) == (2, "messages")
    assert "missing required field" in str(info.value)


def test_unknown_role(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}
    path = write_lines(tmp_path / "rows.jsonl", [json.dumps(row)])
    with pytest.raises(DataError, match="unknown role 'bot'") as info:
        load_openai(path)
    assert info.value.field == "messages[1].role"
    assert info.value.line == 1


def test_unknown_sharegpt_speaker() -> None:
    with pytest.raises(DataError, match="unknown speaker 'robot'") as info:
        load_sharegpt([{"conversations": [{"from": "human", "value": "a"}, {"from": "robot", "value": "b"}]}])
    assert (info.value.index, info.value.field) == (0, "conversations[1].from")
    assert str(info.value).startswith("<iterable>[0]: ")


def test_arguments_that_are_not_json(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{x"}}],
            },
        ]
    }
    path = write_lines(tmp_path / "rows.jsonl", [json.dumps(GOOD), json.dumps(row)])
    with pytest.raises(DataError, match="not valid JSON") as info:
        load_openai(path)
    assert info.value.line == 2
    assert info.value.field == "messages[1].tool_calls[0].function.arguments"


def test_xlam_answers_not_json() -> None:
    with pytest.raises(DataError, match="not valid JSON") as info:
        load_xlam([{"query": "q", "tools": "[]", "answers": "[{'name': 'f'}]"}])
    assert info.value.field == "answers"


def test_sharegpt_tool_result_without_call_is_mapped_to_source_field() -> None:
    with pytest.raises(DataError, match="no preceding assistant tool call") as info:
        load_sharegpt([{"conversations": [{"from": "human", "value": "a"}, {"from": "observation", "value": "7"}]}])
    assert info.value.field == "conversations[1]"


def test_collect_mode_keeps_good_rows_and_reports_all_bad(tmp_path: Path) -> None:
    lines: list[str | bytes] = [
        json.dumps(GOOD),
        "{truncated",
        json.dumps({"messages": [{"role": "bot", "content": "x"}]}),
        b"\xff\xfe not utf-8",
        "[1, 2]",
        json.dumps(GOOD),
    ]
    path = write_lines(tmp_path / "rows.jsonl", lines)
    loaded = load_openai(path, on_error="collect")
    assert len(loaded) == 2
    assert [e.line for e in loaded.errors] == [2, 3, 4, 5]
    report = loaded.report()
    assert report.splitlines()[0] == "2 conversations loaded, 4 bad rows"
    assert "not UTF-8" in report
    assert "JSON list, not an object" in report


def test_bom_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n\n" + json.dumps(GOOD).encode() + b"\n")
    assert len(load_openai(path)) == 2


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="file is empty"):
        load_conversations(path)


def test_wrong_top_level_type_in_array_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([GOOD, "oops"]))
    with pytest.raises(DataError, match="row is a str") as info:
        load_openai(path)
    assert info.value.index == 1


def test_unknown_shape_is_reported() -> None:
    with pytest.raises(DataError, match="cannot tell the row's format"):
        load_conversations([{"text": "x"}])


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(SlmswapError, match="cannot read file"):
        load_openai(tmp_path / "nope.jsonl")


def test_the_load_report_counts_in_good_english(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "one.jsonl", [json.dumps(GOOD), "{truncated"])
    assert load_openai(path, on_error="collect").report().splitlines()[0] == "1 conversation loaded, 1 bad row"
