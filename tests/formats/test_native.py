"""The native format on real templates: tools through the template, calls read back by the family parser."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from slmswap.errors import FormatError
from slmswap.formats import NativeFormat, ParseFailure, detect_family, get_format
from slmswap.schema import Conversation, Message, Tool, ToolCall

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TOOL = Tool(
    name="search",
    description="Search the web.",
    parameters={"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}, "required": ["q"]},
)
TRICKY = Message.assistant(tool_calls=[ToolCall(name="search", arguments={"q": 'a "b" } </tool_call> é', "n": 3})])
SIMPLE = Message.assistant(tool_calls=[ToolCall(name="search", arguments={"q": "weather Paris", "n": 3})])
CONVERSATION = [Message.system("Be helpful."), Message.user("Find the weather in Paris.")]


@pytest.mark.parametrize(
    ("template", "family"), [("qwen2_5", "hermes"), ("qwen3", "hermes"), ("llama3_1", "llama3"), ("llama3_2", "llama3")]
)
def test_round_trip_through_template(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str, family: str
) -> None:
    tokenizer = template_tokenizers[template]
    fmt = get_format("native", tokenizer=tokenizer)
    assert isinstance(fmt, NativeFormat)
    assert fmt.family == family
    conversation = Conversation(messages=[*CONVERSATION, TRICKY], tools=[TOOL])
    full = fmt.render(tokenizer, conversation)
    target = fmt.render_assistant(TRICKY)
    assert target in full
    assert '"search"' in fmt.render(tokenizer, Conversation(messages=CONVERSATION, tools=[TOOL]))  # tools listed
    result = fmt.parse(target, tools=[TOOL])
    assert result.ok, result.detail
    assert result.turn == TRICKY


def test_response_template_family(template_tokenizers: dict[str, PreTrainedTokenizerBase]) -> None:
    tokenizer = template_tokenizers["gptoss"]
    fmt = get_format("native", tokenizer=tokenizer)
    assert fmt.family is None  # parsed by the response template TRL knows for this chat template
    result = fmt.parse(fmt.render_assistant(SIMPLE), tools=[TOOL])
    assert result.ok, result.detail
    assert result.turn == SIMPLE
    assert tokenizer.__dict__.get("response_template") is None  # the caller's tokenizer is left alone


@pytest.mark.parametrize(
    ("template", "dropped"),
    [("smollm2", "tools and tool_calls"), ("llama3", "tools and tool_calls"), ("deepseekv3", "tools")],
)
def test_templates_that_drop_tools_are_refused(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str, dropped: str
) -> None:
    with pytest.raises(FormatError, match=rf"silently drops {dropped};.*get_format\('hermes'\)"):
        get_format("native", tokenizer=template_tokenizers[template])


def test_llama3_parser_cases(template_tokenizers: dict[str, PreTrainedTokenizerBase]) -> None:
    fmt = get_format("native", tokenizer=template_tokenizers["llama3_1"])
    tagged = fmt.parse('<|python_tag|>{"name": "search", "parameters": {"q": "x"}}')
    assert tagged.turn == Message.assistant(tool_calls=[ToolCall(name="search", arguments={"q": "x"})])
    assert fmt.parse("The weather is fine.").turn == Message.assistant(content="The weather is fine.")
    assert fmt.parse('{"name": "search", "parameters": {"q": "x"').failure is ParseFailure.INVALID_JSON
    assert fmt.parse('{"name": "search", "parameters": {}} trailing').failure is ParseFailure.EXTRA_TEXT
    assert fmt.parse('{"name": "zzz", "parameters": {}}', tools=[TOOL]).failure is ParseFailure.UNKNOWN_TOOL


def test_mistral_parser(template_tokenizers: dict[str, PreTrainedTokenizerBase]) -> None:
    fmt = NativeFormat(template_tokenizers["qwen2_5"], parser="mistral")
    text = '[TOOL_CALLS][{"name": "search", "arguments": {"q": "a"}}, {"name": "search", "arguments": {"q": "b"}}]'
    result = fmt.parse(text, tools=[TOOL])
    assert result.ok
    assert [c.arguments["q"] for c in result.turn.tool_calls] == ["a", "b"]  # type: ignore[union-attr]
    assert fmt.parse("[TOOL_CALLS]{oops").failure is ParseFailure.INVALID_JSON


def test_detect_family() -> None:
    assert detect_family("{{ '<tool_call>' }}") == "hermes"
    assert detect_family("[TOOL_CALLS]") == "mistral"
    assert detect_family('"parameters": ') == "llama3"
    assert detect_family("{{ message.content }}") is None
