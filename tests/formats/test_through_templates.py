"""Formats through real chat templates: the target text appears verbatim, and the generated span parses back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from slmswap.formats import ChatFormat, get_format
from slmswap.schema import Conversation, Message, Tool, ToolCall
from tests.real_templates import original_templates

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TEMPLATES = ["smollm2", *original_templates()]

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "tags": {"type": "array"}},
        "required": ["city"],
    },
)
CALL_TURN = Message.assistant(
    tool_calls=[
        ToolCall(name="get_weather", arguments={"city": 'São "Paulo" </tool_call>', "days": 3, "tags": [None, {}]}),
        ToolCall(name="get_weather", arguments={"city": "Lyon"}),
    ]
)
PROMPT = [Message.system("You are a weather bot."), Message.user("Weather in São Paulo and Lyon?")]
JSON_TURN = Message.assistant(content='{"city": "Lyon", "ok": true, "n": [1, 2.5]}')


def _header(tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat) -> str:
    """What the template writes between the generation prompt and an assistant turn's text (channel markers, an
    empty reasoning block, ...), read off a sentinel turn."""
    marker = '{"sentinel": "7f3a"}'  # valid for every format: a JSON object is also plain text
    sentinel = Message.assistant(content=marker)
    probe = Conversation(messages=[Message.user("hi"), sentinel])
    full = fmt.render(tokenizer, probe)
    prompt = fmt.render(tokenizer, Conversation(messages=[Message.user("hi")]), add_generation_prompt=True)
    return full[len(prompt) : full.index(marker)] if full.startswith(prompt) else ""


def _check(tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, conversation: Conversation, turn: Message) -> None:
    full = fmt.render(tokenizer, conversation)
    target = fmt.render_assistant(turn)
    assert target in full, "the target text must appear verbatim in the templated conversation"
    prompt_only = Conversation(messages=conversation.messages[:-1], tools=conversation.tools)
    prompt = fmt.render(tokenizer, prompt_only, add_generation_prompt=True)
    if full.startswith(prompt):
        generated = full[len(prompt) :]
        generated = generated[: generated.rindex(target) + len(target)]  # the model's output, end-of-turn excluded
        header = _header(tokenizer, fmt)
        assert generated.startswith(header)
        output = generated[len(header) :]
    else:
        # Reasoning templates open a <think> block in the generation prompt that the training text of a finished
        # turn does not have: the train/eval boundary differs (the template engine's lint reports it). A model
        # answers after its reasoning: the block the prompt opened, then the turn. The evaluator puts the opening
        # tag back in front of the generated text before parsing, as done here.
        assert prompt.endswith("<think>\n"), "only reasoning templates may break the prompt prefix"
        output = "<think>\n" + "Let me think.\n</think>\n\n" + target
    result = fmt.parse(output, tools=conversation.tools)
    assert result.ok, (result.failure, result.detail, output)
    assert result.turn == turn


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("name", ["hermes", "xml", "cep"])
def test_tool_call_formats_through_template(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str, name: str
) -> None:
    conversation = Conversation(messages=[*PROMPT, CALL_TURN], tools=[WEATHER])
    _check(template_tokenizers[template], get_format(name), conversation, CALL_TURN)


@pytest.mark.parametrize("template", TEMPLATES)
def test_structured_through_template(template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str) -> None:
    fmt = get_format("structured", schema={"type": "object", "required": ["city"]})
    _check(template_tokenizers[template], fmt, Conversation(messages=[*PROMPT, JSON_TURN]), JSON_TURN)
