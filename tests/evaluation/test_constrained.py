"""Constrained decoding with the real SmolLM2 model: batched rows each keep to their own grammar, outputs parse
strictly, and evaluations record the setup (records, results, resuming, the doctor's parity check)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.data.demo import load_demo_dataset
from slmswap.doctor import Status, diagnose
from slmswap.errors import ConfigError
from slmswap.evaluation import Generation, Prompt, TransformersBackend, eval_items, evaluate, evaluate_into
from slmswap.evaluation.openai import OpenAIBackend
from slmswap.formats import get_format
from slmswap.formats.base import output_grammar
from slmswap.schema import Conversation, Message, Tool

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@pytest.mark.slow
def test_constrained_rows_keep_their_own_grammar(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Prompts of different lengths and tool sets in one left-padded batch: each row's answer is a call of its
    own tools (text is ruled out here, so the base model must call), generated exactly as alone."""
    hermes = get_format("hermes")
    clock = Tool(name="get_time")
    units = Tool(
        name="set_units",
        parameters={"type": "object", "properties": {"units": {"enum": ["metric", "imperial"]}}, "required": ["units"]},
    )
    asked = [
        Conversation(messages=(Message.user("What time is it?"), Message.assistant(content="-")), tools=(clock,)),
        load_demo_dataset("test")[0],
        Conversation(messages=(Message.user("Use metric."), Message.assistant(content="-")), tools=(units, clock)),
    ]
    items, _ = eval_items(asked, tokenizer, hermes)
    prompts = [
        dataclasses.replace(
            item.prompt, grammar=dataclasses.replace(output_grammar(hermes, item.conversation.tools), text=False)
        )
        for item in items
    ]
    prompts.append(items[0].prompt)  # a row without a grammar rides along unconstrained
    batched = TransformersBackend(model, tokenizer, batch_size=4, max_new_tokens=40).generate(prompts)
    alone = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=40).generate(prompts)
    assert [g.text for g in batched] == [g.text for g in alone]
    completed = 0
    for item, generation in zip(items, batched, strict=False):
        assert generation.text.startswith('<tool_call>\n{"name": ')
        # The base model, never trained to stop after a call, goes on calling until max_new_tokens: the calls it
        # completed parse strictly and call offered tools with declared arguments.
        end = generation.text.rfind("</tool_call>")
        if end >= 0:
            completed += 1
            parsed = hermes.parse(generation.text[: end + len("</tool_call>")], tools=item.conversation.tools)
            assert parsed.ok, (generation.text, parsed.detail)
            assert parsed.turn is not None
            assert parsed.turn.tool_calls
    assert completed >= 2
    assert not batched[3].text.startswith("<tool_call>")


def _canned(text: str) -> object:
    def generate(prompts: Sequence[Prompt]) -> list[Generation]:
        assert all(prompt.grammar is not None for prompt in prompts)
        return [Generation(text=text, tokens=1, seconds=0.0) for _ in prompts]

    return generate


def test_the_setup_is_recorded_and_never_mixed(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    data, hermes = load_demo_dataset("test")[:3], get_format("hermes")
    records = tmp_path / "r.jsonl"
    generate = _canned("No.")
    result = evaluate(data, generate, tokenizer, hermes, records=records, constrained=True)  # type: ignore[arg-type]
    assert result.constrained
    with pytest.raises(ConfigError, match="holds constrained answers and this evaluation is unconstrained"):
        evaluate(data, lambda prompts: [], tokenizer, hermes, records=records)
    assert evaluate(data, generate, tokenizer, hermes, records=records, constrained=True).reused == 3  # type: ignore[arg-type]


def test_the_doctor_tells_constrained_from_free_runs(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    data, hermes = load_demo_dataset("test")[:3], get_format("hermes")

    def free(prompts: Sequence[Prompt]) -> list[Generation]:
        return [Generation(text="No.", tokens=1, seconds=0.0) for _ in prompts]

    base = evaluate_into(tmp_path / "base", data, free, tokenizer, hermes)
    tuned = evaluate_into(tmp_path / "tuned", data, _canned("No."), tokenizer, hermes, constrained=True)  # type: ignore[arg-type]
    parity = diagnose(runs=[tuned], baseline=base)["baseline_parity"]
    assert parity.status is Status.FAIL
    assert "decoding differs: unconstrained (baseline) vs constrained ('tuned')" in parity.reason
    both = evaluate_into(tmp_path / "both", data, _canned("No."), tokenizer, hermes, constrained=True)  # type: ignore[arg-type]
    assert diagnose(runs=[tuned], baseline=both)["baseline_parity"].status is Status.PASS


def test_a_backend_that_cannot_constrain_refuses(tokenizer: PreTrainedTokenizerBase) -> None:
    items, _ = eval_items(load_demo_dataset("test")[:1], tokenizer, get_format("hermes"), constrained=True)
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", max_retries=0)
    with pytest.raises(ConfigError, match="cannot constrain decoding"):
        backend.generate([item.prompt for item in items])
    backend.close()
