"""The store read back: load_traffic and its filters, traffic: data, slmswap traffic and its export, and the
stream reader that turns a stream's events into the answer recorded."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from slmswap.data import load_openai
from slmswap.data.named import load_data
from slmswap.errors import ConfigError
from slmswap.gateway import load_traffic, read_exchanges
from slmswap.gateway.sse import EventSplitter, StreamedAnswer, event_data
from tests.cli.cli import slmswap
from tests.gateway.conftest import TOOLS, Gateway


def _fill(gateway: Gateway) -> float:
    """Four exchanges (two tagged "a", one failed, one streamed); the time between the second and third."""
    with gateway.client() as client:
        client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "one"}]},
                    headers={"x-slmswap-tag": "a"})  # fmt: skip
        client.post("/v1/chat/completions", json={"model": "fail-400", "messages": [{"role": "user", "content": "x"}]})
        time.sleep(0.05)
        middle = time.time()
        time.sleep(0.05)
        client.post("/v1/chat/completions", json={"model": "m", "tools": TOOLS, "stream": True,
                    "messages": [{"role": "user", "content": "two"}]}, headers={"x-slmswap-tag": "a"})  # fmt: skip
        client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "three"}]})
    return middle


def test_load_traffic_gives_the_answered_exchanges_with_their_answer_and_tools(gateway: Gateway) -> None:
    middle = _fill(gateway)
    conversations = load_traffic(gateway.store)
    assert [c.messages[0].content for c in conversations] == ["one", "two", "three"]  # the failed one is left out
    first, second, _ = conversations
    assert first.messages[-1].content == "echo: one"
    assert second.tools[0].name == "lookup"
    assert second.messages[-1].tool_calls[0].arguments == {"text": "two"}
    assert [c.messages[0].content for c in load_traffic(gateway.store, tag="a")] == ["one", "two"]
    assert [c.messages[0].content for c in load_traffic(gateway.store, since=middle)] == ["two", "three"]
    assert len(list(read_exchanges(gateway.store))) == 4
    assert [c.messages for c in load_data(f"traffic:{gateway.store}")] == [c.messages for c in conversations]
    assert len(load_data(str(gateway.store))) == 3  # a .db path is a store too


def test_traffic_command_summarizes_and_exports(gateway: Gateway, tmp_path: Path) -> None:
    _fill(gateway)
    summary = slmswap("traffic", gateway.store)
    assert summary.returncode == 0, summary.stderr
    assert "4 requests (1 streamed), 1 errors, 3 usable as training data" in summary.stdout
    assert "  lookup: 1" in summary.stdout
    assert "  400: 1" in summary.stdout
    tagged = slmswap("traffic", gateway.store, "--tag", "a")
    assert "2 requests" in tagged.stdout
    out = tmp_path / "rows.jsonl"
    written = slmswap("traffic", "export", gateway.store, out)
    assert written.returncode == 0, written.stderr
    assert "wrote 3 conversations" in written.stdout
    assert list(load_openai(out)) == list(load_traffic(gateway.store))
    assert isinstance(
        json.loads(out.read_text().splitlines()[1])["messages"][-1]["tool_calls"][0]["function"]["arguments"], str
    )


def test_a_missing_or_foreign_store_is_a_clear_error(tmp_path: Path) -> None:
    missing = slmswap("traffic", tmp_path / "nope.db")
    assert missing.returncode == 2
    assert "no such traffic store" in missing.stderr
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    result = slmswap("traffic", foreign)
    assert result.returncode == 2
    assert "cannot open the traffic store" in result.stderr
    assert "Traceback" not in result.stderr
    assert slmswap("traffic", "export", foreign).returncode == 2


def test_since_must_be_a_time(gateway: Gateway) -> None:
    with pytest.raises(ConfigError, match="not an ISO 8601"):
        list(read_exchanges(gateway.store, since="yesterday"))


def test_a_store_from_a_newer_slmswap_is_refused(gateway: Gateway) -> None:
    _fill(gateway)
    with sqlite3.connect(gateway.store) as connection:
        connection.execute("UPDATE slmswap_meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(ConfigError, match="schema 99"):
        load_traffic(gateway.store)


def test_events_are_cut_whole_whatever_the_byte_boundaries() -> None:
    stream = b'data: {"a": 1}\n\n: keep-alive\n\ndata: {"b":\r\ndata: 2}\r\n\r\ndata: [DONE]\n\n'
    for size in (1, 3, 7, len(stream)):
        splitter = EventSplitter()
        events = [
            event for start in range(0, len(stream), size) for event in splitter.feed(stream[start : start + size])
        ]
        assert b"".join(events) == stream
        assert [event_data(event) for event in events] == ['{"a": 1}', None, '{"b":\n2}', "[DONE]"]
        assert splitter.rest() == b""


def test_a_streamed_answer_adds_up_and_malformed_chunks_are_errors_not_exceptions() -> None:
    answer = StreamedAnswer()
    answer.add(json.dumps({"model": "x", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}))
    answer.add(json.dumps({"choices": [{"index": 0, "delta": {"content": "lo", "tool_calls": [
        {"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"a"'}}]}}]}))  # fmt: skip
    more = {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}
    answer.add(json.dumps({"choices": [{"index": 0, "delta": more, "finish_reason": "tool_calls"}]}))
    assert answer.response()["choices"][0] == {
        "index": 0,
        "message": {
            "role": "assistant",
            "content": "Hello",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
        },
        "finish_reason": "tool_calls",
    }
    for bad in ("not json", "[1]", json.dumps({"choices": [{"delta": {"tool_calls": [1]}}]})):
        broken = StreamedAnswer()
        broken.add(bad)
        assert broken.error is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--upstream", "ftp://example.com"], "must be an http:// or https:// URL"),
        (["--upstream", "http://127.0.0.1:9/v1", "--redact", "email,emails"], "unknown redaction rule 'emails'"),
        (["--upstream", "http://127.0.0.1:9/v1", "--redact-regex", "bad=("], "does not compile"),
        (["--upstream", "http://127.0.0.1:9/v1", "--api-key-env", "SLMSWAP_TEST_UNSET"], "is not set"),
    ],
)
def test_a_bad_gateway_configuration_is_refused_before_anything_starts(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    result = slmswap("gateway", *arguments, "--store", tmp_path / "t.db", "--port", "1")
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "t.db").exists()
