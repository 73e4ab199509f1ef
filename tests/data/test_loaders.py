"""Loaders on real-shaped rows of each source."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmswap.data import (
    load_bfcl,
    load_bfcl_wheel,
    load_conversations,
    load_openai,
    load_prompt_completion,
    load_sharegpt,
    load_xlam,
)
from slmswap.schema import ToolCall

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_openai_rows() -> None:
    first, second = load_openai(FIXTURES / "openai.jsonl")
    assert first.id == "oa-1"
    assert first.system == "You are a travel agent."
    call = first.messages[2].tool_calls[0]
    assert call == ToolCall(
        name="book_flight",
        arguments={"origin": "SFO", "destination": "JFK", "date": "2024-05-01"},
        id="call_abc",
    )
    assert first.messages[3].tool_call_id == "call_abc"
    assert first.messages[4].content == "Booked! Confirmation X1Y2."  # text parts joined
    assert first.tools[0].required == ("origin", "destination", "date")
    assert [m.role for m in second.messages] == ["user", "assistant"]


def test_sharegpt_rows() -> None:
    calc, chat = load_sharegpt(FIXTURES / "sharegpt.json")
    assert [m.role for m in calc.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert calc.system == "You are a calculator."
    assert calc.messages[2].tool_calls == (ToolCall(name="add", arguments={"a": 3, "b": 4}),)
    assert calc.tools[0].name == "add"
    assert chat.system == "Be kind."


def test_xlam_rows() -> None:
    giveaways, stocks = load_xlam(FIXTURES / "xlam.jsonl")
    assert giveaways.id == "0"
    assert [c.arguments for c in giveaways.messages[1].tool_calls] == [{"type": "beta"}, {"type": "game"}]
    schema = giveaways.tools[0].parameters
    assert schema["properties"]["type"] == {  # type: ignore[index]
        "type": "string",
        "description": "The type of giveaways to retrieve (e.g., game, loot, beta).",
        "default": "game",
    }
    assert giveaways.tools[0].required == ()  # has a default
    assert stocks.tools[0].required == ("limit",)  # 'tickers' is optional
    assert stocks.tools[0].properties["tickers"]["type"] == "array"  # type: ignore[index]


def test_prompt_completion_rows() -> None:
    tool_row, conversational = load_prompt_completion(FIXTURES / "prompt_completion.jsonl")
    assert [m.role for m in tool_row.messages] == ["system", "user", "assistant"]
    assert tool_row.messages[2].content == '<tool_call name="search_hotels">{"city": "Rome", "guests": 2}</tool_call>'
    assert conversational.messages[1].content == '{"capital": "Paris"}'


@pytest.mark.parametrize(
    ("name", "kind_first_role"),
    [
        ("openai.jsonl", "system"),
        ("sharegpt.json", "system"),
        ("xlam.jsonl", "user"),
        ("prompt_completion.jsonl", "system"),
    ],
)
def test_auto_detection(name: str, kind_first_role: str) -> None:
    loaded = load_conversations(FIXTURES / name)
    assert len(loaded) == 2
    assert loaded[0].messages[0].role == kind_first_role


def test_dataset_and_iterable_sources() -> None:
    from datasets import Dataset

    rows = [{"prompt": "p1", "completion": "c1"}, {"prompt": "p2", "completion": "c2"}]
    from_dataset = load_prompt_completion(Dataset.from_list(rows))
    from_iterable = load_prompt_completion(iter(rows))
    assert list(from_dataset) == list(from_iterable)
    assert [c.messages[1].content for c in from_dataset] == ["c1", "c2"]


def test_bfcl_real_simple_python(bfcl_wheel: Path) -> None:
    loaded = load_bfcl_wheel(bfcl_wheel, "simple_python")
    assert len(loaded) == 400
    first = loaded[0]
    assert first.id == "simple_python_0"
    assert first.messages[0].content == "Find the area of a triangle with a base of 10 units and height of 5 units."
    tool = first.tools[0]
    assert tool.name == "calculate_triangle_area"
    assert tool.parameters["type"] == "object"  # BFCL's "dict" mapped to JSON Schema
    assert tool.required == ("base", "height")
    # possible answer {"base": [10], "height": [5], "unit": ["units", ""]}: first acceptable value of each
    assert first.messages[-1].tool_calls == (
        ToolCall(name="calculate_triangle_area", arguments={"base": 10, "height": 5, "unit": "units"}),
    )
    assert first.metadata["bfcl_ground_truth"] == [
        {"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}
    ]


@pytest.mark.parametrize(
    ("category", "count"),
    [
        ("parallel", 200),
        ("multiple", 200),
        ("parallel_multiple", 200),
        ("irrelevance", 240),
        ("live_simple", 258),
        ("simple_java", 100),
        ("simple_javascript", 50),
    ],
)
def test_bfcl_real_categories_load_cleanly(bfcl_wheel: Path, category: str, count: int) -> None:
    loaded = load_bfcl_wheel(bfcl_wheel, category, on_error="collect")
    assert loaded.errors == ()
    assert len(loaded) == count
    assert all(c.messages[-1].role == "assistant" for c in loaded)  # irrelevance too: a target with no call
    assert all(bool(c.messages[-1].tool_calls) == (category != "irrelevance") for c in loaded)
    assert all(c.metadata["bfcl_functions"] for c in loaded)  # BFCL's own specs, for its checker


def test_bfcl_live_irrelevance_and_relevance(bfcl_wheel: Path) -> None:
    irrelevant = load_bfcl_wheel(bfcl_wheel, "live_irrelevance")
    assert len(irrelevant) == 884
    assert all(c.messages[-1].tool_calls == () and c.metadata["placeholder_text"] is True for c in irrelevant)
    relevant = load_bfcl_wheel(bfcl_wheel, "live_relevance")  # "some call" cannot be a target: prompts only
    assert all(c.messages[-1].role == "user" for c in relevant)


def test_bfcl_parallel_calls_in_order(bfcl_wheel: Path) -> None:
    first = load_bfcl_wheel(bfcl_wheel, "parallel")[0]
    assert [c.arguments for c in first.messages[-1].tool_calls] == [
        {"artist": "Taylor Swift", "duration": 20},
        {"artist": "Maroon 5", "duration": 15},
    ]


def test_bfcl_from_extracted_files(bfcl_wheel: Path, tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(bfcl_wheel) as archive:
        archive.extract("bfcl_eval/data/BFCL_v4_multiple.json", tmp_path)
        archive.extract("bfcl_eval/data/possible_answer/BFCL_v4_multiple.json", tmp_path)
    data = tmp_path / "bfcl_eval" / "data"
    loaded = load_bfcl(data / "BFCL_v4_multiple.json", data / "possible_answer" / "BFCL_v4_multiple.json")
    assert loaded[0] == load_bfcl_wheel(bfcl_wheel, "multiple")[0]
    assert load_conversations(data / "BFCL_v4_multiple.json")[0].messages[-1].role == "user"  # no answers given


def test_bfcl_multi_turn_is_refused_clearly(bfcl_wheel: Path) -> None:
    loaded = load_bfcl_wheel(bfcl_wheel, "multi_turn_base", on_error="collect")
    assert len(loaded) == 0
    assert "multi-turn BFCL rows are not supported" in str(loaded.errors[0])
    assert "field 'question'" in str(loaded.errors[0])
    assert ":1:" in str(loaded.errors[0])


def test_hermes_rows() -> None:
    from slmswap.data import load_hermes

    camera, stock = load_hermes(FIXTURES / "hermes.jsonl")
    assert [t.name for t in camera.tools] == ["get_camera_live_feed", "lock_door"]  # Python-literal <tools>
    assert camera.tools[0].required == ("camera_id",)
    assert camera.system is None  # the Hermes boilerplate is re-written by the hermes format
    assert "<tools>" in str(camera.metadata["hermes_system"])
    assert camera.messages[1].tool_calls == (
        ToolCall(name="get_camera_live_feed", arguments={"camera_id": "front_door", "stream_quality": "1080p"}),
        ToolCall(name="lock_door", arguments={"door_id": "back_door"}),
    )
    assert [m.role for m in stock.messages] == ["user", "assistant", "tool", "assistant"]
    assert stock.messages[2].name == "get_stock_price"
    assert stock.messages[2].content == '{"price": 189.5}'
    assert load_conversations(FIXTURES / "hermes.jsonl")[0] == camera  # detected as Hermes, not plain ShareGPT


def test_hermes_round_trips_through_the_hermes_format(tokenizer: object) -> None:
    from slmswap.data import load_hermes
    from slmswap.formats import get_format

    fmt = get_format("hermes")
    for conversation in load_hermes(FIXTURES / "hermes.jsonl"):
        for index in conversation.assistant_indices():
            turn = conversation.messages[index]
            assert fmt.parse(fmt.render_assistant(turn), tools=conversation.tools).turn == turn
        assert "<tools>" in fmt.render(tokenizer, conversation)  # type: ignore[arg-type]


def test_hermes_bad_call_names_the_turn() -> None:
    from slmswap.data import load_hermes
    from slmswap.errors import DataError

    row = {
        "conversations": [
            {"from": "human", "value": "hi"},
            {"from": "gpt", "value": "<tool_call>\n{oops\n</tool_call>"},
        ]
    }
    with pytest.raises(DataError, match="cannot read the assistant turn") as info:
        load_hermes([row])
    assert info.value.field == "conversations[1].value"
