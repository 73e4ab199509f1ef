"""Assistant-only masks on SmolLM2's template and every original template TRL ships."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from slmswap.formats import get_format
from slmswap.rendering import apply_template, shape_messages, template_shape
from slmswap.schema import Conversation, Message, Tool, ToolCall
from slmswap.templates import DropReason, render_with_spans, tokenize_conversation
from tests.real_templates import original_templates

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TEMPLATES = ["smollm2", *original_templates()]
WEATHER = Tool(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CONVERSATION = Conversation(
    messages=(
        Message.system("Be brief."),
        Message.user("Weather in Paris?"),
        Message.assistant(tool_calls=[ToolCall(name="get_weather", arguments={"city": "Paris"})]),
        Message.tool('{"t": 20}'),
        Message.assistant("It is 20°C in Paris."),
        Message.user("Thanks!"),
        Message.assistant("You're welcome."),
    ),
    tools=(WEATHER,),
)
FMT = get_format("hermes")


def _oracle(tokenizer: PreTrainedTokenizerBase, text: str, offsets: list[tuple[int, int]]) -> list[int] | None:
    """Expected trained token positions, computed differently from slmswap: for each assistant message, from the
    end of its generation prompt through its target text, then as much of what the template writes after the
    target when the conversation ends there (rendered per turn) as the full text repeats, in whole tokens,
    trailing whitespace tokens excluded. ``None`` when a generation prompt is not a prefix of the text."""
    chat = FMT.chat_input(CONVERSATION)
    messages = shape_messages(chat.messages, template_shape(tokenizer))
    turns = [CONVERSATION.messages[i] for i in CONVERSATION.assistant_indices()]
    trained: list[int] = []
    cursor = 0
    for i in [k for k, m in enumerate(messages) if m["role"] == "assistant"]:
        target = FMT.render_assistant(turns.pop(0))
        prompt = apply_template(tokenizer, messages[:i], chat.tools, add_generation_prompt=True)
        upto = apply_template(tokenizer, messages[: i + 1], chat.tools, add_generation_prompt=False)
        if not text.startswith(prompt):
            return None
        target_end = text.index(target, max(len(prompt), cursor)) + len(target)
        after = upto[upto.rindex(target) + len(target) :]
        agree = 0
        for x, y in zip(after, text[target_end:], strict=False):
            if x != y:
                break
            agree += 1
        run = [j for j, (s, e) in enumerate(offsets) if s >= len(prompt) and e <= target_end + agree]
        while run and not text[offsets[run[-1]][0] : offsets[run[-1]][1]].strip():
            run.pop()
        trained += run
        cursor = target_end
    return trained


@pytest.mark.parametrize("template", TEMPLATES)
def test_mask_covers_exactly_the_assistant_targets(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str
) -> None:
    tokenizer = template_tokenizers[template]
    example = tokenize_conversation(tokenizer, FMT, CONVERSATION)
    full = FMT.render(tokenizer, CONVERSATION)
    encoding = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    expected = _oracle(tokenizer, full, encoding["offset_mapping"])
    if expected is None:
        # Reasoning templates whose generation prompt opens a <think> block the training text lacks.
        assert example.dropped is DropReason.TEMPLATE_FAILED
        assert "not prefix-preserving" in example.detail
        return
    assert example.dropped is None, example.detail
    assert example.input_ids == encoding["input_ids"]  # tokenized once, without extra special tokens
    assert [j for j, label in enumerate(example.labels) if label != -100] == expected
    assert all(label in (-100, token) for label, token in zip(example.labels, example.input_ids, strict=True))
    trained_text = "".join(
        example.text[s:e] for (s, e), label in zip(example.offsets, example.labels, strict=True) if label != -100
    )
    for index in CONVERSATION.assistant_indices():
        assert FMT.render_assistant(CONVERSATION.messages[index]) in trained_text
    assert "Weather in Paris?" not in trained_text  # user text is never trained
    assert '{"t": 20}' not in trained_text  # nor tool results


NO_END_MARKER = {"glm4moe"}
"""Templates that write nothing after an assistant turn: GLM-4.5's model stops on the next role token
(``<|user|>``, ``<|observation|>``), which belongs to the next turn; the lint reports it (test_lint)."""


@pytest.mark.parametrize("template", TEMPLATES)
def test_final_turn_trains_its_end_of_turn_marker(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str
) -> None:
    tokenizer = template_tokenizers[template]
    example = tokenize_conversation(tokenizer, FMT, CONVERSATION)
    if example.dropped is not None:
        assert example.dropped is DropReason.TEMPLATE_FAILED  # reasoning templates, see the test above
        return
    last = render_with_spans(tokenizer, FMT, CONVERSATION).spans[-1]
    if template in NO_END_MARKER:
        assert last.end_of_turn is None
        return
    assert last.end_of_turn, f"{template}: no end-of-turn marker found after the final assistant turn"
    assert last.end_of_turn.strip() == last.end_of_turn
    trained_end = max(e for (s, e), label in zip(example.offsets, example.labels, strict=True) if label != -100)
    assert trained_end == last.end  # the marker's tokens are the last ones trained
