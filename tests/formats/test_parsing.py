"""Strict and lenient parsing: each failure reason, and what lenient mode forgives."""

from __future__ import annotations

import pytest

from slmswap.formats import CEP_RULES, ParseFailure, choose_cep_variant, get_format
from slmswap.schema import Conversation, Message, Tool, ToolCall

WEATHER = Tool(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
PARIS = Message.assistant(tool_calls=[ToolCall(name="get_weather", arguments={"city": "Paris"})])
HERMES_PARIS = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
XML_PARIS = '<tool_call name="get_weather">{"city": "Paris"}</tool_call>'


@pytest.mark.parametrize(
    ("name", "text", "failure"),
    [
        ("hermes", "", ParseFailure.EMPTY),
        ("hermes", "<tool_call>\n{'name': 'get_weather', 'arguments': {}}\n</tool_call>", ParseFailure.INVALID_JSON),
        ("hermes", '{"name": "get_weather", "arguments": {"city": "Paris"}}', ParseFailure.NO_TOOL_CALL),
        ("hermes", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}', ParseFailure.MALFORMED_CALL),
        ("hermes", '<tool_call>{"name": "get_weather"}</tool_call>', ParseFailure.MALFORMED_CALL),
        ("hermes", '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>', ParseFailure.UNKNOWN_TOOL),
        ("hermes", '<tool_call>{"name": "get_weather", "arguments": [1]}</tool_call>', ParseFailure.BAD_ARGUMENTS),
        (
            "hermes",
            '<tool_call>{"name": "get_weather", "arguments": {"city": 7}}</tool_call>',
            ParseFailure.BAD_ARGUMENTS,
        ),
        ("hermes", HERMES_PARIS + "\nHope that helps!", ParseFailure.EXTRA_TEXT),
        ("xml", '<tool_call name="get_weather"/>', ParseFailure.MALFORMED_CALL),
        ("xml", '<tool_call>{"city": "Paris"}</tool_call>', ParseFailure.MALFORMED_CALL),
        ("xml", '<tool_call name="get_weather">{"city": "Paris"</tool_call>', ParseFailure.INVALID_JSON),
        ("xml", '<tool_call name="get_weather" arguments="x">{}</tool_call>', ParseFailure.MALFORMED_CALL),
        ("cep", "```xml\n" + XML_PARIS + "\n```", ParseFailure.EXTRA_TEXT),
        ("structured", "Sure! {}", ParseFailure.INVALID_JSON),
        ("structured", '{"a": 1} and more', ParseFailure.EXTRA_TEXT),
        ("structured", "[1, 2]", ParseFailure.INVALID_JSON),
    ],
)
def test_strict_failure_reasons(name: str, text: str, failure: ParseFailure) -> None:
    result = get_format(name).parse(text, tools=[WEATHER])
    assert not result.ok
    assert result.failure is failure, result.detail
    assert result.detail


def test_failure_span_points_at_the_offence() -> None:
    text = "Sure.\n" + HERMES_PARIS + "\nBye now"
    result = get_format("hermes").parse(text)
    assert result.failure is ParseFailure.EXTRA_TEXT
    assert result.span is not None
    assert text[result.span[0] : result.span[1]].strip() == "Bye now"


def test_semantic_failures_keep_the_turn_for_scoring() -> None:
    result = get_format("hermes").parse('<tool_call>{"name": "get_time", "arguments": {}}</tool_call>', tools=[WEATHER])
    assert result.failure is ParseFailure.UNKNOWN_TOOL
    assert result.turn is not None
    assert result.turn.tool_calls[0].name == "get_time"


@pytest.mark.parametrize(
    ("name", "text", "forgiven"),
    [
        ("hermes", "```json\n" + HERMES_PARIS + "\n```", ("markdown_fence",)),
        ("hermes", HERMES_PARIS + "\nLet me know if you need more.", ("trailing_text",)),
        (
            "hermes",
            "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': 'Paris'}}\n</tool_call>",
            ("python_literal",),
        ),
        ("hermes", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}', ("unclosed_tag",)),
        (
            "hermes",
            'Here you go: {"name": "get_weather", "arguments": {"city": "Paris"}} ok?',
            ("missing_tags", "surrounding_text"),
        ),
        (
            "hermes",
            '<tool_call>{"name": "get_weather", "parameters": {"city": "Paris"}}</tool_call>',
            ("parameters_key",),
        ),
        (
            "hermes",
            '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}</tool_call>',
            ("arguments_as_string",),
        ),
        ("xml", "```\n" + XML_PARIS + "\n```", ("markdown_fence",)),
        ("xml", '<tool_call name="get_weather" arguments=\'{"city": "Paris"}\'/>', ("self_closing_tag",)),
        ("xml", '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>', ("name_in_body",)),
        ("cep", XML_PARIS + " That's the call.", ("trailing_text",)),
    ],
)
def test_lenient_mode_recovers_and_says_what_it_forgave(name: str, text: str, forgiven: tuple[str, ...]) -> None:
    fmt = get_format(name)
    assert not fmt.parse(text, tools=[WEATHER]).ok  # strict refuses
    result = fmt.parse(text, tools=[WEATHER], strict=False)
    assert result.ok, (result.failure, result.detail)
    assert result.turn == PARIS
    assert result.forgiven == forgiven


def test_structured_lenient_and_schema() -> None:
    fmt = get_format(
        "structured", schema={"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
    )
    fenced = 'Here:\n```json\n{"city": "Paris"}\n```\nDone.'
    result = fmt.parse(fenced, strict=False)
    assert result.ok
    assert result.turn == Message.assistant(content='{"city": "Paris"}')
    assert result.forgiven == ("markdown_fence", "surrounding_text")
    mismatch = fmt.parse('{"town": "Paris"}')
    assert mismatch.failure is ParseFailure.SCHEMA_MISMATCH
    assert "'city' is a required property" in mismatch.detail


def test_plain_text_answers_are_turns() -> None:
    result = get_format("hermes").parse("  I cannot help with that.  ", tools=[WEATHER])
    assert result.ok
    assert result.turn == Message.assistant(content="I cannot help with that.")


def test_reasoning_is_not_part_of_the_turn() -> None:
    result = get_format("hermes").parse("<think>\nThe user wants weather.\n</think>\n\n" + HERMES_PARIS)
    assert result.turn == PARIS


def test_formats_refuse_what_they_cannot_express() -> None:
    from slmswap.errors import FormatError

    with pytest.raises(FormatError, match="cannot express tool calls"):
        get_format("structured").check(Conversation(messages=[Message.user("x"), PARIS], tools=[WEATHER]))
    with pytest.raises(FormatError, match="XML attribute"):
        get_format("xml").render_assistant(Message.assistant(tool_calls=[ToolCall(name='a"b')]))
    with pytest.raises(FormatError, match="contains '<tool_call'"):
        get_format("hermes").render_assistant(Message.assistant(content="see <tool_call>"))


def test_system_prompts_state_their_source_and_hold_the_tools() -> None:
    conversation = Conversation(messages=[Message.system("Be brief."), Message.user("Paris?")], tools=[WEATHER])
    for name in ("hermes", "xml", "cep", "structured"):
        fmt = get_format(name)
        system = fmt.system_prompt(conversation)
        assert system is not None
        assert system.endswith("Be brief.")
        assert fmt.system_prompt_source
        if name != "structured":
            assert '"get_weather"' in system
    assert get_format("hermes").system_prompt(Conversation(messages=[Message.user("x")])) is None


@pytest.mark.parametrize("variant", ["universal", "compact", "structured", "toolcall"])
def test_cep_rules_are_plain_text(variant: str) -> None:
    import re

    rules = CEP_RULES[variant]
    assert not re.search(r"<\|[^>]*\|>", rules), "no fake special-token markers"
    system = get_format("cep", variant=variant).system_prompt(Conversation(messages=[Message.user("x")]))
    assert system is not None
    assert system.startswith(rules)


def test_choose_cep_variant_from_failures() -> None:
    assert choose_cep_variant({"markdown_fence": 9, "malformed_call": 1}) == "structured"
    assert choose_cep_variant({"self_closing_tag": 4, "no_tool_call": 3, "invalid_json": 2}) == "toolcall"
    assert choose_cep_variant({}) == "universal"


def test_adversarial_output_stays_bounded() -> None:
    deep = "<tool_call>" + '{"name": "f", "arguments": ' + "[" * 100_000 + "]" * 100_000 + "}</tool_call>"
    result = get_format("hermes").parse(deep, strict=False)
    assert result.failure in (ParseFailure.INVALID_JSON, ParseFailure.BAD_ARGUMENTS)
    huge = '<tool_call name="f">{"n": ' + "9" * 5000 + "}</tool_call>"
    assert get_format("xml").parse(huge).failure is ParseFailure.INVALID_JSON  # past Python's int digit limit
    big = '<tool_call name="f">{"n": ' + "9" * 4000 + ', "x": 1e308}</tool_call>'
    assert get_format("xml").parse(big).ok
    many_tags = "<tool_call>" * 20_000
    assert get_format("hermes").parse(many_tags, strict=False).failure is not None
