"""A gateway's traffic store as a curation source: every exchange is read, the failed ones too, and each is
dropped with its reason (an upstream error, an answer the gateway found malformed or empty, a truncation), while
the answered ones are kept; planted rows in a real SQLite store of the gateway's schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slmswap.curation import curate
from slmswap.data.traffic import EXCHANGES, open_store
from tests.curation.planted import NAMES, TOOLS


def _exchange(k: int, user: str, **answer: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"x{k:03d}",
        "created": 1_700_000_000.0 + k,
        "tag": None,
        "route": "upstream",
        "replica": "test",
        "stream": False,
        "model": "llm",
        "messages": [{"role": "user", "content": user}],
        "tools": TOOLS,
        "params": {},
        "headers": {},
        "content": None,
        "tool_calls": None,
        "finish_reason": "stop",
        "status": 200,
        "error": None,
        "total_ms": 1.0,
        "redactions": {},
    }
    row.update(answer)
    return row


def _call(name: str) -> list[dict[str, Any]]:
    return [{"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": {"city": name}}}]


def test_failed_exchanges_are_dropped_with_their_reason(tmp_path: Path) -> None:
    store = tmp_path / "traffic.db"
    rows = [
        _exchange(k, f"weather for {name} next week in the hills", tool_calls=_call(name), finish_reason="tool_calls")
        for k, name in enumerate(NAMES)
    ]
    rows += [
        _exchange(20, "what about the sea", status=502, error="upstream answered HTTP 502"),
        _exchange(21, "what about the lakes", error="the answer is malformed: arguments are not JSON"),
        _exchange(22, "what about the moon", error="the answer is empty: no content and no tool calls"),
        _exchange(23, "tell me a long story", content="Once upon a", finish_reason="length"),
    ]
    engine = open_store(store, create=True)
    with engine.begin() as connection:
        connection.execute(sa.insert(EXCHANGES), rows)
    engine.dispose()
    curation = curate(f"traffic:{store}", tmp_path / "out", tokenizer=None)
    reasons = {row.id: row.reason for row in curation.report.dropped}
    assert reasons == {
        "x020": "upstream_error",
        "x021": "malformed_answer",
        "x022": "empty_answer",
        "x023": "truncated",
    }
    assert curation.report.counts.kept == len(NAMES)
    kept = [json.loads(line) for path in (curation.train, curation.test) for line in path.read_text().splitlines()]
    assert sorted(row["id"] for row in kept) == [f"x{k:03d}" for k in range(len(NAMES))]
