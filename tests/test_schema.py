"""The typed core: construction, validation messages, JSON round-trip."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from slmswap.errors import DataError
from slmswap.schema import Conversation, Message, Tool, ToolCall

WEATHER = Tool(
    name="get_weather",
    description="Weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def weather_conversation() -> Conversation:
    return Conversation(
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris and Rome?"),
            Message.assistant(
                tool_calls=[
                    ToolCall(name="get_weather", arguments={"city": "Paris"}, id="c1"),
                    ToolCall(name="get_weather", arguments={"city": "Rome"}, id="c2"),
                ]
            ),
            Message.tool('{"temp": 21}', tool_call_id="c2"),
            Message.tool('{"temp": 18}', tool_call_id="c1"),
            Message.assistant("Paris 18°C, Rome 21°C."),
        ],
        tools=[WEATHER],
        id="row-7",
        metadata={"split": "train"},
    )


def test_json_round_trip_is_lossless() -> None:
    conversation = weather_conversation()
    text = conversation.model_dump_json()
    assert Conversation.model_validate_json(text) == conversation
    assert Conversation.model_validate(json.loads(text)) == conversation


def test_tool_call_arguments_json_string_becomes_dict() -> None:
    call = ToolCall(name="f", arguments='{"a": [1, 2.5, null, true], "b": {"c": "é"}}')
    assert call.arguments == {"a": [1, 2.5, None, True], "b": {"c": "é"}}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"), (3, "must be a JSON object")],
)
def test_tool_call_rejects_bad_arguments(arguments: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ToolCall(name="f", arguments=arguments)  # type: ignore[arg-type]


def test_tool_accepts_openai_wrapper_and_callable() -> None:
    wrapped = Tool.model_validate({"type": "function", "function": WEATHER.model_dump()})
    assert wrapped == WEATHER
    assert Tool.model_validate(WEATHER.to_openai()) == WEATHER

    def get_weather(city: str, unit: str = "celsius") -> str:
        """Weather for a city.

        Args:
            city: The city.
            unit: celsius or fahrenheit.
        """
        return city + unit

    tool = Tool.from_callable(get_weather)
    assert tool.name == "get_weather"
    assert tool.required == ("city",)
    assert set(tool.properties) == {"city", "unit"}
    assert Tool.model_validate(get_weather) == tool


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"type": "wat"}, "not a valid JSON Schema"),
        (
            {"type": "object", "properties": {"x": {"type": 3}}},
            "not a valid JSON Schema at properties/x/type",
        ),
        ({"type": "string"}, "must describe a JSON object"),
    ],
)
def test_tool_rejects_non_json_schema(parameters: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Tool(name="t", parameters=parameters)  # type: ignore[arg-type]


def test_message_rules() -> None:
    with pytest.raises(ValidationError, match="neither content nor tool calls"):
        Message(role="assistant")
    with pytest.raises(ValidationError, match="unknown role 'bot'"):
        Message(role="bot", content="hi")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="only assistant turns may carry tool calls"):
        Message(role="user", content="x", tool_calls=(ToolCall(name="f"),))
    with pytest.raises(ValidationError, match="needs content"):
        Message(role="user")


def test_tool_result_without_call_names_the_message() -> None:
    with pytest.raises(DataError, match=r"field 'messages\[1\]': tool result with no preceding") as info:
        Conversation(messages=[Message.user("x"), Message.tool("r")])
    assert info.value.field == "messages[1]"


def test_more_results_than_calls_is_an_error() -> None:
    with pytest.raises(DataError, match="no preceding assistant tool call"):
        Conversation(
            messages=[
                Message.user("x"),
                Message.assistant(tool_calls=[ToolCall(name="f")]),
                Message.tool("1"),
                Message.tool("2"),
            ]
        )


def test_result_for_unknown_call_id() -> None:
    with pytest.raises(DataError, match="call id 'zz'") as info:
        Conversation(
            messages=[
                Message.user("x"),
                Message.assistant(tool_calls=[ToolCall(name="f", id="a")]),
                Message.tool("1", tool_call_id="zz"),
            ]
        )
    assert info.value.field == "messages[2].tool_call_id"


def test_duplicate_tool_names() -> None:
    with pytest.raises(DataError, match="duplicate tool name 'get_weather'") as info:
        Conversation(messages=[Message.user("x")], tools=[WEATHER, WEATHER])
    assert info.value.field == "tools[1].name"


def test_call_of_unlisted_tool() -> None:
    with pytest.raises(DataError, match="'get_time', which is not in the conversation's tools") as info:
        Conversation(
            messages=[Message.user("x"), Message.assistant(tool_calls=[ToolCall(name="get_time")])],
            tools=[WEATHER],
        )
    assert info.value.field == "messages[1].tool_calls[0].name"


def test_system_only_first() -> None:
    with pytest.raises(DataError, match="system turn may only be the first"):
        Conversation(messages=[Message.user("x"), Message.system("s")])


def test_accessors() -> None:
    conversation = weather_conversation()
    assert conversation.system == "Be brief."
    assert conversation.assistant_indices() == [2, 5]
    assert conversation.tools_by_name == {"get_weather": WEATHER}
