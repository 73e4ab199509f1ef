"""The bad-input corpus: files users really produce. Each gives a DataError naming file, line or index, field,
and a fix where one helps; collect mode keeps the good rows; nothing hangs and nothing is dropped silently."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.data import load_conversations, load_openai
from slmswap.errors import DataError, SlmswapError
from slmswap.formats import get_format
from slmswap.templates import TokenizeOptions, prepare_dataset

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CORPUS = Path(__file__).parents[1] / "corpus"

CASES = [
    # file, line (or None), index (or None), field (or None), message fragment, rows kept in collect mode
    ("truncated.jsonl", 2, None, None, "malformed JSON", 1),
    ("latin1.jsonl", 2, None, None, "not UTF-8", 1),
    ("empty.jsonl", None, None, None, "file is empty", 0),
    ("wrong_top_level.json", 1, None, None, "holds a JSON str, not an object", 0),
    ("array_of_numbers.json", None, 0, None, "row is a int, not an object", 0),
    ("unknown_role.jsonl", 2, None, "messages[0].role", "unknown role 'bot'", 1),
    ("arguments_invalid_json.jsonl", 1, None, "messages[1].tool_calls[0].function.arguments", "not valid JSON", 0),
    ("arguments_not_object.jsonl", 1, None, "messages[1].tool_calls[0].function.arguments", "must be a JSON object", 0),
    ("unknown_tool.jsonl", 3, None, "messages[1].tool_calls[0].name", "'get_time', which is not in", 2),
    ("duplicate_tools.jsonl", 1, None, "tools[1].name", "duplicate tool name 'get_weather'", 0),
    ("schema_not_json_schema.jsonl", 1, None, "tools[0].parameters", "not a valid JSON Schema", 0),
    ("assistant_without_content.jsonl", 1, None, "messages[1]", "neither content nor tool calls", 0),
    ("tool_result_without_call.jsonl", 1, None, "messages[1]", "no preceding assistant tool call", 0),
]


@pytest.mark.parametrize(("name", "line", "index", "field", "fragment", "kept"), CASES)
def test_bad_file(name: str, line: int | None, index: int | None, field: str | None, fragment: str, kept: int) -> None:
    path = CORPUS / name
    with pytest.raises(DataError) as info:
        load_openai(path)
    error = info.value
    assert fragment in str(error)
    assert error.source == str(path)
    assert (error.line, error.index, error.field) == (line, index, field)
    assert str(error).startswith(str(path))
    collected = load_openai(path, on_error="collect")
    assert len(collected) == kept
    assert len(collected.errors) >= 1


def test_bom_is_read() -> None:
    assert len(load_openai(CORPUS / "bom.jsonl")) == 1


def test_ten_megabyte_line(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    content = "x" * 10_000_000
    path.write_text('{"messages": [{"role": "user", "content": "' + content + '"}, {"role": "bot", "content": "a"}]}\n')
    with pytest.raises(DataError, match="unknown role 'bot'") as info:
        load_conversations(path)
    assert info.value.line == 1
    assert len(str(info.value)) < 500  # the message quotes, it does not dump the row


def test_dropped_examples_are_counted_with_a_reason(tokenizer: PreTrainedTokenizerBase) -> None:
    loaded = load_openai(CORPUS / "no_assistant_turn.jsonl")
    assert len(loaded) == 1  # a prompt-only conversation is valid data ...
    prepared = prepare_dataset([*loaded, *load_openai(CORPUS / "bom.jsonl")], tokenizer, get_format("hermes"))
    assert prepared.stats.dropped == {"no_trainable_tokens": 1}  # ... but has nothing to train: counted
    assert prepared.stats.kept == 1


def test_conversations_longer_than_max_length(tokenizer: PreTrainedTokenizerBase) -> None:
    loaded = load_openai(CORPUS / "bom.jsonl")
    prepared = prepare_dataset(loaded, tokenizer, get_format("hermes"), TokenizeOptions(max_length=16))
    assert prepared.stats.dropped == {"target_truncated": 1}
    with pytest.raises(SlmswapError, match=r"example 0: target_truncated"):
        prepare_dataset(loaded, tokenizer, get_format("hermes"), TokenizeOptions(max_length=16), strict=True)
