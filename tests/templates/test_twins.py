"""slmswap's mask on an original template vs Hugging Face's ``return_assistant_tokens_mask`` on TRL's
``{% generation %}``-marked training twin of it, token for token.

Justified differences, each checked to be the only ones:

* ``whitespace_after_end_of_turn`` — the newline a template writes after the end-of-turn token belongs to the
  layout before the next turn; generation stops at the end-of-turn token, so slmswap does not train it (TRL's
  twins put it inside the generation block).
* ``in_generation_prompt`` — tokens the evaluation prompt already contains (gpt-oss's ``<|start|>assistant``,
  Qwen 3.8's pre-written empty ``<think>`` block): the model never produces them, so slmswap does not train them.
* ``mid_conversation_end`` — gpt-oss ends a non-final assistant turn with ``<|end|>`` but the final one with
  ``<|return|>``; slmswap trains the final turn's marker (what generation must produce to stop).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import pytest

from slmswap.formats import get_format
from slmswap.rendering import apply_template, shape_messages, template_shape
from slmswap.templates import tokenize_conversation
from tests.real_templates import original_templates, trl_template_dir

from .test_masks import CONVERSATION

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TWINS = [name for name in original_templates() if (trl_template_dir() / f"{name}_training.jinja").exists()]
FMT = get_format("hermes")
ALLOWED = {
    "gptoss": {"whitespace_after_end_of_turn", "in_generation_prompt", "mid_conversation_end"},
    "muse_glimmer": {"whitespace_after_end_of_turn", "in_generation_prompt", "mid_conversation_end"},
    "qwen3_8": {"whitespace_after_end_of_turn", "in_generation_prompt"},
}
RENDER_DIFFERENTLY = {"glm4moe", "qwen3"}
"""Twins whose text differs from the original's (they keep reasoning the original strips): no token-for-token
comparison is possible; their masks are checked against the oracle in test_masks."""
NOT_PREFIX_PRESERVING = {
    "deepseek_r1_distill",
    "deepseekv3",
    "nemotron_3_5_lightning",
    "nemotron_3_nano",
    "nemotron_3_super",
    "nemotron_3_ultra",
    "qwen3_5_nothink",
    "qwen3_5_think",
    "qwen3_6",
}
"""Originals slmswap refuses (the evaluation prompt is not a prefix of the training text); their twins exist
precisely to fix that, and training with the twin is what slmswap's error suggests."""


def _kind(text: str, start: int, end: int, prompt_regions: list[tuple[int, int]], markers: set[str]) -> str:
    piece = text[start:end]
    if not piece.strip():
        return "whitespace_after_end_of_turn"
    if any(a <= start < b for a, b in prompt_regions):
        return "in_generation_prompt"
    if piece in markers:
        return "mid_conversation_end"
    return f"unexpected {piece!r}"


def _generation_prompt_regions(
    tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, object]], tools: object
) -> list[tuple[int, int]]:
    """Where each assistant turn's generation prompt adds text (its header) to the conversation before it."""
    regions = []
    for k, message in enumerate(messages):
        if message["role"] == "assistant":
            before = apply_template(tokenizer, messages[:k], tools, add_generation_prompt=False)  # type: ignore[arg-type]
            prompt = apply_template(tokenizer, messages[:k], tools, add_generation_prompt=True)  # type: ignore[arg-type]
            regions.append((len(before), len(prompt)))
    return regions


@pytest.mark.parametrize("template", TWINS)
def test_mask_equals_generation_markers_on_twin(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str
) -> None:
    tokenizer = template_tokenizers[template]
    ours = tokenize_conversation(tokenizer, FMT, CONVERSATION)
    if template in NOT_PREFIX_PRESERVING:
        assert ours.dropped is not None
        return
    assert ours.dropped is None, ours.detail
    twin = copy.deepcopy(tokenizer)
    twin.chat_template = (trl_template_dir() / f"{template}_training.jinja").read_text()
    chat = FMT.chat_input(CONVERSATION)
    messages = shape_messages(chat.messages, template_shape(tokenizer))
    hf = twin.apply_chat_template(
        messages, tools=chat.tools, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    if template in RENDER_DIFFERENTLY:
        assert hf["input_ids"] != ours.input_ids
        return
    assert hf["input_ids"] == ours.input_ids
    regions = _generation_prompt_regions(tokenizer, messages, chat.tools)
    differences = set()
    for j, (theirs, label) in enumerate(zip(hf["assistant_masks"], ours.labels, strict=True)):
        mine = int(label != -100)
        if theirs != mine:
            assert (theirs, mine) == (1, 0), f"slmswap trains token {j} that the twin does not"
            start, end = ours.offsets[j]
            differences.add(_kind(ours.text, start, end, regions, {"<|end|>"}))
    assert differences <= ALLOWED.get(template, {"whitespace_after_end_of_turn"}), differences
