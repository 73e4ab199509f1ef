"""Tokenization options and dataset preparation: turn selection, max length, zero targets, strict mode, stats."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from slmswap.errors import DataError
from slmswap.formats import get_format
from slmswap.schema import Conversation, Message, ToolCall
from slmswap.templates import DropReason, TokenizeOptions, prepare_dataset, tokenize_conversation

from .test_masks import CONVERSATION

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

HERMES = get_format("hermes")


def trained_text(example: object) -> str:
    return "".join(
        example.text[s:e]  # type: ignore[attr-defined]
        for (s, e), label in zip(example.offsets, example.labels, strict=True)  # type: ignore[attr-defined]
        if label != -100
    )


def test_smollm2_trains_content_and_end_of_turn_only(tokenizer: PreTrainedTokenizerBase) -> None:
    example = tokenize_conversation(tokenizer, HERMES, CONVERSATION)
    assert trained_text(example) == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>'
        "It is 20°C in Paris.<|im_end|>"
        "You're welcome.<|im_end|>"
    )


def test_last_turn_only(tokenizer: PreTrainedTokenizerBase) -> None:
    example = tokenize_conversation(tokenizer, HERMES, CONVERSATION, TokenizeOptions(turns="last"))
    assert trained_text(example) == "You're welcome.<|im_end|>"


def test_tool_results_trained_on_request(tokenizer: PreTrainedTokenizerBase) -> None:
    example = tokenize_conversation(tokenizer, HERMES, CONVERSATION, TokenizeOptions(train_tool_results=True))
    assert '{"t": 20}' in trained_text(example)


def test_max_length_never_cuts_a_target(tokenizer: PreTrainedTokenizerBase) -> None:
    full = tokenize_conversation(tokenizer, HERMES, CONVERSATION)
    last_trained = max(j for j, label in enumerate(full.labels) if label != -100)
    dropped = tokenize_conversation(tokenizer, HERMES, CONVERSATION, TokenizeOptions(max_length=last_trained))
    assert dropped.dropped is DropReason.TARGET_TRUNCATED
    assert "max_length" in dropped.detail
    tail_cut = tokenize_conversation(tokenizer, HERMES, CONVERSATION, TokenizeOptions(max_length=last_trained + 1))
    assert tail_cut.dropped is None
    assert tail_cut.truncated
    assert len(tail_cut.input_ids) == last_trained + 1
    assert tail_cut.trained_tokens == full.trained_tokens


def test_zero_target_and_unexpressible_examples_are_dropped(tokenizer: PreTrainedTokenizerBase) -> None:
    prompt_only = Conversation(messages=(Message.user("Hello?"),))
    assert tokenize_conversation(tokenizer, HERMES, prompt_only).dropped is DropReason.NO_TRAINABLE_TOKENS
    with_call = Conversation(messages=(Message.user("x"), Message.assistant(tool_calls=[ToolCall(name="f")])))
    structured = get_format("structured")
    assert tokenize_conversation(tokenizer, structured, with_call).dropped is DropReason.FORMAT_CANNOT_EXPRESS


def test_prepare_dataset_counts_drops_and_lengths(tokenizer: PreTrainedTokenizerBase) -> None:
    prompt_only = Conversation(messages=(Message.user("Hello?"),), id="lonely")
    full = tokenize_conversation(tokenizer, HERMES, CONVERSATION)
    cut_at = max(j for j, label in enumerate(full.labels) if label != -100)
    data = [CONVERSATION, prompt_only, CONVERSATION]
    prepared = prepare_dataset(data, tokenizer, HERMES, TokenizeOptions())
    assert prepared.stats.examples == 3
    assert prepared.stats.kept == 2
    assert prepared.stats.dropped == {"no_trainable_tokens": 1}
    assert prepared.stats.first_drops == ["example 1 (id 'lonely'): no assistant target [no_trainable_tokens]"]
    assert prepared.stats.trained_tokens == 2 * full.trained_tokens
    assert prepared.stats.length_percentiles["max"] == len(full.input_ids)
    assert prepared.dataset.column_names == ["input_ids", "labels"]
    assert prepared.dataset[0]["input_ids"] == full.input_ids
    assert prepared.dataset[0]["labels"] == full.labels
    truncated = prepare_dataset([CONVERSATION], tokenizer, HERMES, TokenizeOptions(max_length=cut_at))
    assert truncated.stats.dropped == {"target_truncated": 1}
    assert "kept" in truncated.stats.summary()


def test_strict_preparation_names_the_example(tokenizer: PreTrainedTokenizerBase) -> None:
    prompt_only = Conversation(messages=(Message.user("Hello?"),), id="lonely")
    with pytest.raises(DataError, match=r"example 1 \(id 'lonely'\).*no_trainable_tokens"):
        prepare_dataset([CONVERSATION, prompt_only], tokenizer, HERMES, strict=True)


def test_prepare_in_two_processes_matches_one(tokenizer: PreTrainedTokenizerBase) -> None:
    data = [CONVERSATION] * 6
    one = prepare_dataset(data, tokenizer, HERMES, batch_size=2)
    two = prepare_dataset(data, tokenizer, HERMES, batch_size=2, num_proc=2)
    assert one.dataset["input_ids"] == two.dataset["input_ids"]
    assert one.dataset["labels"] == two.dataset["labels"]
    assert one.stats == two.stats


def test_prepared_dataset_is_what_trl_trains_on(tokenizer: PreTrainedTokenizerBase) -> None:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    prepared = prepare_dataset([CONVERSATION, CONVERSATION], tokenizer, HERMES)
    collator = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)
    batch = collator([prepared.dataset[0], prepared.dataset[1]])
    assert batch["labels"][0].tolist() == prepared.dataset[0]["labels"]  # labels used as given
