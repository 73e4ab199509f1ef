"""Evaluation on the real default model: batched generation, records, resuming after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.errors import ConfigError, DataError
from slmswap.evaluation import TransformersBackend, evaluate, read_records, stop_markers
from slmswap.formats import get_format
from slmswap.schema import Conversation, Message, Tool, ToolCall

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

WEATHER = Tool(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CITIES = ["Paris", "Rome", "Oslo", "Lima", "Cairo", "Quito"]


def conversations() -> list[Conversation]:
    return [
        Conversation(
            messages=(
                Message.user(f"What is the weather in {city}?"),
                Message.assistant(tool_calls=[ToolCall(name="get_weather", arguments={"city": city})]),
            ),
            tools=(WEATHER,),
            id=f"w{k}",
        )
        for k, city in enumerate(CITIES)
    ]


def test_stop_markers_come_from_the_template(tokenizer: PreTrainedTokenizerBase) -> None:
    assert stop_markers(tokenizer) == ["<|im_end|>"]  # SmolLM2: end-of-turn and EOS are the same token


def test_batched_generation_equals_one_at_a_time(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    fmt = get_format("hermes")
    prompts = [
        fmt.render(tokenizer, Conversation(messages=c.messages[:1], tools=c.tools), add_generation_prompt=True)
        for c in conversations()
    ]
    batched = TransformersBackend(model, tokenizer, batch_size=6, max_new_tokens=12).generate(prompts)
    single = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=12).generate(prompts)
    assert [g.text for g in batched] == [g.text for g in single]
    assert all(0 < g.tokens <= 12 for g in batched)
    assert all("<|im_end|>" not in g.text for g in batched)


def test_records_results_and_prompt_parity(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, tmp_path: Path
) -> None:
    fmt = get_format("hermes")
    generator = TransformersBackend(model, tokenizer, batch_size=3, max_new_tokens=12)
    data = [*conversations(), Conversation(messages=(Message.user("no answer here"),))]
    result = evaluate(
        data, generator.generate, tokenizer, fmt, records=tmp_path / "r.jsonl", results=tmp_path / "res.json"
    )
    assert result.examples == 6
    assert result.skipped == {"no_assistant_turn": 1}
    assert result.system_prompt_source.startswith("Hermes' function-calling instructions")
    records = read_records(tmp_path / "r.jsonl")
    assert [r.id for r in records] == [f"w{k}" for k in range(6)]
    assert set(records[0].scores) >= {"valid_output", "tool_name_match", "arguments_exact_match"}
    assert result.metrics.values["valid_output"].n == 6
    saved = type(result).model_validate_json((tmp_path / "res.json").read_text())
    assert saved == result
    again = evaluate(data, generator.generate, tokenizer, fmt, records=tmp_path / "r.jsonl")
    assert again.reused == 6  # nothing generated twice
    assert again.metrics == result.metrics
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 6


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
import slmswap
from slmswap.evaluation import TransformersBackend, evaluate
from slmswap.formats import get_format
from tests.evaluation.test_runner import conversations
tokenizer = slmswap.load_tokenizer()
model = slmswap.load_model().eval()
generator = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=12)
evaluate(conversations(), generator.generate, tokenizer, get_format("hermes"), records=Path({records!r}), batch_size=1)
"""


def test_killed_evaluation_resumes_to_the_same_metrics(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, tmp_path: Path
) -> None:
    fmt = get_format("hermes")
    generator = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=12)
    reference = evaluate(conversations(), generator.generate, tokenizer, fmt, records=tmp_path / "full.jsonl")

    records = tmp_path / "killed.jsonl"
    code = textwrap.dedent(_CHILD).format(root=str(Path(__file__).parents[2]), records=str(records))
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        if records.exists() and len(records.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert child.poll() is None, "the child finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    before = len(read_records(records))
    assert 2 <= before < 6

    resumed = evaluate(conversations(), generator.generate, tokenizer, fmt, records=records, batch_size=2)
    assert resumed.reused == before
    complete = read_records(records)
    assert sorted(r.id for r in complete) == sorted(f"w{k}" for k in range(6))  # no duplicates, none missing
    assert resumed.metrics == reference.metrics
    assert [r.raw_output for r in sorted(complete, key=lambda r: r.id)] == [
        r.raw_output for r in sorted(read_records(tmp_path / "full.jsonl"), key=lambda r: r.id)
    ]


def test_duplicate_ids_are_refused(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    data = conversations()[:1] * 2
    with pytest.raises(DataError, match="conversation ids repeat"):
        evaluate(data, lambda prompts: [], tokenizer, get_format("hermes"), records=tmp_path / "r.jsonl")


def test_a_records_file_of_another_model_is_not_resumed(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    from slmswap.evaluation import Generation

    def canned(prompts: object) -> list[Generation]:
        return [Generation(text="No.", tokens=1, seconds=0.0) for _ in prompts]  # type: ignore[attr-defined]

    data, records, hermes = conversations()[:2], tmp_path / "r.jsonl", get_format("hermes")
    evaluate(data, canned, tokenizer, hermes, records=records, model="base")
    assert {r.model for r in read_records(records)} == {"base"}
    with pytest.raises(ConfigError, match="holds answers of 'base', not 'tuned'"):
        evaluate(data, canned, tokenizer, hermes, records=records, model="tuned")
    assert evaluate(data, canned, tokenizer, hermes, records=records, model="base").reused == 2


def test_cut_short_line_is_repaired_not_glued(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    from slmswap.evaluation import Generation

    def canned(prompts: object) -> list[Generation]:
        return [Generation(text="plain answer", tokens=2, seconds=0.0) for _ in prompts]  # type: ignore[attr-defined]

    records = tmp_path / "r.jsonl"
    fmt = get_format("hermes")
    evaluate(conversations(), canned, tokenizer, fmt, records=records)
    records.write_bytes(records.read_bytes()[:-40])  # a crash cut the last line short
    resumed = evaluate(conversations(), canned, tokenizer, fmt, records=records)
    assert resumed.reused == 5
    assert len(read_records(records)) == 6  # the redone record was not glued onto the broken line
    assert records.read_bytes().count(b"\n") == 6
