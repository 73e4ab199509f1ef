"""The round-trip law, property-tested: parse(render_assistant(turn)) gives the turn back, for every format."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from slmswap.formats import get_format
from slmswap.formats.structured import StructuredFormat
from slmswap.schema import Message

from .strategies import call_turns, content, json_objects

TEXT_FORMATS = ["hermes", "xml", "cep"]


@pytest.mark.parametrize("name", TEXT_FORMATS)
@settings(max_examples=300, deadline=None)
@given(turn=call_turns())
def test_tool_call_turns_round_trip(name: str, turn: Message) -> None:
    fmt = get_format(name)
    rendered = fmt.render_assistant(turn)
    for strict in (True, False):
        result = fmt.parse(rendered, strict=strict)
        assert result.ok, (result.failure, result.detail, rendered)
        assert result.turn == turn
        assert result.forgiven == ()


@pytest.mark.parametrize("name", TEXT_FORMATS)
@settings(max_examples=100, deadline=None)
@given(text=content)
def test_text_turns_round_trip(name: str, text: str) -> None:
    fmt = get_format(name)
    turn = Message.assistant(content=text)
    assert fmt.parse(fmt.render_assistant(turn)).turn == turn


@settings(max_examples=300, deadline=None)
@given(answer=json_objects)
def test_structured_round_trip(answer: dict[str, Any]) -> None:
    fmt = StructuredFormat()
    turn = StructuredFormat.turn(answer)
    result = fmt.parse(fmt.render_assistant(turn))
    assert result.ok
    assert result.turn == turn
