"""The bundled demo dataset: reproducible from its generator, well formed, learnable, and short enough to
fine-tune on a CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

import slmswap
from slmswap.data import _demo_generate
from slmswap.data.demo import load_demo_dataset
from slmswap.formats import get_format
from slmswap.schema import Conversation
from slmswap.templates import prepare_dataset

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SHIPPED = Path(_demo_generate.__file__).parent / "demo"
P95_CEILING = 512
"""Tokens (SmolLM2 template, hermes format) that 95 % of the conversations stay under."""


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Conversation]]:
    return {"train": load_demo_dataset("train"), "test": load_demo_dataset("test")}


def _query(conversation: Conversation) -> str:
    assert [m.role for m in conversation.messages] == ["user", "assistant"]
    return conversation.messages[0].content or ""


def _kind(conversation: Conversation) -> str:
    calls = len(conversation.messages[-1].tool_calls)
    return {0: "no_tool", 1: "single", 2: "parallel"}[calls]


def test_regenerating_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    for split, text in _demo_generate.render_splits().items():
        assert (SHIPPED / f"{split}.jsonl").read_bytes() == text.encode("utf-8"), split
    command = [sys.executable, "-m", "slmswap.data._demo_generate"]
    subprocess.run([*command, "--out", str(tmp_path)], check=True, capture_output=True)
    for split in ("train", "test"):
        assert (tmp_path / f"{split}.jsonl").read_bytes() == (SHIPPED / f"{split}.jsonl").read_bytes()
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 0
    (tmp_path / "test.jsonl").write_text("{}\n", encoding="utf-8")
    stale = subprocess.run([*command, "--check", "--out", str(tmp_path)], capture_output=True, text=True)
    assert stale.returncode == 1
    assert "test.jsonl" in stale.stderr
    assert "train.jsonl" not in stale.stderr


def test_split_sizes_and_stable_ids(splits: dict[str, list[Conversation]]) -> None:
    assert {split: len(data) for split, data in splits.items()} == {"train": 320, "test": 60}
    for split, data in splits.items():
        assert [c.id for c in data] == [f"demo-{split}-{k:03d}" for k in range(len(data))]


def test_no_query_is_in_both_splits(splits: dict[str, list[Conversation]]) -> None:
    train = [_query(c) for c in splits["train"]]
    test = [_query(c) for c in splits["test"]]
    assert len(set(train)) == len(train)
    assert len(set(test)) == len(test)
    assert not set(train) & set(test)


def test_many_distinct_tools_all_called_in_both_splits(splits: dict[str, list[Conversation]]) -> None:
    listed = {tool.name for data in splits.values() for c in data for tool in c.tools}
    assert len(listed) >= 20
    for split, data in splits.items():
        called = {call.name for c in data for call in c.messages[-1].tool_calls}
        assert called == listed, split
    specs = {
        (tool.name, json.dumps(tool.parameters, sort_keys=True))
        for data in splits.values()
        for c in data
        for tool in c.tools
    }
    assert len(specs) == len(listed)  # one schema per tool name, everywhere


def test_kinds_in_proportion_with_one_distractor(splits: dict[str, list[Conversation]]) -> None:
    for split, data in splits.items():
        kinds = [_kind(c) for c in data]
        parallel, no_tool = kinds.count("parallel") / len(data), kinds.count("no_tool") / len(data)
        assert 0.12 <= parallel <= 0.18, (split, parallel)
        assert 0.10 <= no_tool <= 0.15, (split, no_tool)
        for conversation in data:
            called = {call.name for call in conversation.messages[-1].tool_calls}
            assert called <= {tool.name for tool in conversation.tools}
            assert len(conversation.tools) == len(called) + 1 + (not called)  # a no-tool query lists two
            assert conversation.system is None
            if not called:
                assert conversation.messages[-1].content


def _stated(value: object, text: str) -> bool:
    return (value if isinstance(value, str) else json.dumps(value)) in text


def test_arguments_validate_and_are_stated_in_the_query(splits: dict[str, list[Conversation]]) -> None:
    checked = 0
    for data in splits.values():
        for conversation in data:
            query = _query(conversation)
            tools = conversation.tools_by_name
            for call in conversation.messages[-1].tool_calls:
                jsonschema.validate(call.arguments, tools[call.name].parameters)
                for name, value in call.arguments.items():
                    assert isinstance(value, (str, int, float)), (conversation.id, name)
                    assert _stated(value, query), (conversation.id, name, value, query)
                    checked += 1
    assert checked > 600


def test_hermes_prepares_every_conversation_with_p95_under_ceiling(
    splits: dict[str, list[Conversation]], tokenizer: PreTrainedTokenizerBase
) -> None:
    data = splits["train"] + splits["test"]
    prepared = prepare_dataset(data, tokenizer, get_format("hermes"))
    assert prepared.stats.kept == len(data)
    assert prepared.stats.dropped == {}
    lengths = sorted(len(ids) for ids in prepared.dataset["input_ids"])
    p50, p95 = lengths[len(lengths) // 2], lengths[int(0.95 * (len(lengths) - 1) + 0.5)]
    print(f"demo data, SmolLM2 + hermes: p50={p50} p95={p95} max={lengths[-1]} tokens")
    assert p95 < P95_CEILING


def test_loader_is_exported_and_checks_the_split() -> None:
    assert slmswap.load_demo_dataset is slmswap.data.load_demo_dataset is load_demo_dataset
    assert "load_demo_dataset" in slmswap.__all__
    with pytest.raises(ValueError, match="split must be one of train, test"):
        load_demo_dataset("validation")  # type: ignore[arg-type]
