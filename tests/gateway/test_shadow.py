"""Shadow mode: the client always gets the LLM's answer, however slow or broken the small model is; both answers
are stored as a pair (the small model's side as an update of the committed row), and the live verdict reads the
pairs from the store. Also the store's schema upgrade (version 1 to 2)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slmswap.data.traffic import SCHEMA_VERSION, open_store
from slmswap.gateway import read_exchanges
from slmswap.live import live_verdict
from tests.cli.cli import slmswap
from tests.gateway.conftest import TOOLS, GatewayFactory
from tests.gateway.slm_standin import SmallModel, small_model
from tests.gateway.standin import free_port


@pytest.fixture
def slm() -> Iterator[SmallModel]:
    with small_model() as model:
        yield model


def _ask(client: Any, text: str, **extra: Any) -> Any:
    body = {"model": "m", "tools": TOOLS, "messages": [{"role": "user", "content": text}], **extra}
    return client.post("/v1/chat/completions", json=body)


def _paired(store: Path, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The store's rows once ``count`` of them carry the small model's side."""
    deadline = time.monotonic() + timeout
    while True:
        rows = list(read_exchanges(store))
        if sum(r["slm_status"] is not None or r["slm_error"] is not None for r in rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"only {rows} paired"
        time.sleep(0.05)


def test_shadow_answers_with_the_llm_and_stores_both_answers_as_a_pair(
    make_gateway: GatewayFactory, slm: SmallModel, tmp_path: Path
) -> None:
    with make_gateway(store=tmp_path / "record.db") as recording, recording.client() as client:
        recorded = [_ask(client, f"find {k}").content for k in range(3)]
    with make_gateway(slm=slm.url, mode="shadow") as gateway, gateway.client() as client:
        answers = [_ask(client, f"find {k}") for k in range(3)]
        streamed = _ask(client, "find 3", stream=True)
        rows = _paired(gateway.store, 4)
    assert [a.content for a in answers] == recorded  # the LLM's answer, byte for byte
    assert "data: [DONE]" in streamed.text
    assert slm.bodies[0]["model"] == "m"
    assert all("stream" not in body for body in slm.bodies)  # the small model is asked for its whole answer
    for row in rows:
        assert (row["mode"], row["answered_by"], row["fallback_reason"]) == ("shadow", "llm", None)
        assert row["upstream_model"] == "m-upstream"
        assert row["slm_model"] == "small"
        assert row["slm_status"] == 200
        assert row["slm_error"] is None
        assert row["slm_tool_calls"][0]["function"]["name"] == "lookup"
        assert row["slm_tool_calls"][0]["function"]["arguments"] == row["tool_calls"][0]["function"]["arguments"]
        assert (row["slm_prompt_tokens"], row["slm_completion_tokens"], row["slm_total_tokens"]) == (5, 3, 8)
        assert row["slm_ms"] > 0
    report = live_verdict(gateway.store, bar="arguments_exact_match>=0.5")
    assert report.requests == 4
    assert report.agreement.overall["arguments_exact_match"].value == 1.0
    assert report.slm.answered == 4
    assert report.slm.prompt_tokens == 20
    result = slmswap("live", gateway.store)
    assert result.returncode == 0, result.stderr
    assert "| arguments_exact_match | 4 | 1.000 |" in result.stdout


def _latencies(make_gateway: GatewayFactory, requests: int, **options: Any) -> np.ndarray:
    seconds = []
    with make_gateway(store=options.pop("store"), **options) as gateway, gateway.client() as client:
        _ask(client, "warm up")
        for k in range(requests):
            started = time.perf_counter()
            response = _ask(client, f"find {k}")
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200
            assert response.json()["model"] == "m-upstream"
    return np.asarray(seconds) * 1000


def test_a_slow_failing_or_missing_small_model_never_delays_or_fails_the_client(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    requests = 60
    alone = _latencies(make_gateway, requests, store=tmp_path / "alone.db")
    with small_model("slow", delay=1.0) as slow:
        shadowed = _latencies(make_gateway, requests, store=tmp_path / "slow.db", slm=slow.url, mode="shadow")
    with small_model("fail") as failing:
        _latencies(make_gateway, 5, store=tmp_path / "fail.db", slm=failing.url, mode="shadow")
    _latencies(make_gateway, 5, store=tmp_path / "gone.db", slm=f"http://127.0.0.1:{free_port()}/v1", mode="shadow")
    with small_model("slow", delay=5.0) as stuck:
        _latencies(make_gateway, 3, store=tmp_path / "stuck.db", slm=stuck.url, mode="shadow", slm_timeout=0.3)
    p50 = float(np.percentile(shadowed, 50) - np.percentile(alone, 50))
    p95 = float(np.percentile(shadowed, 95) - np.percentile(alone, 95))
    print(f"client latency without/with a 1 s shadow: p50 {np.percentile(alone, 50):.2f}/"
          f"{np.percentile(shadowed, 50):.2f} ms, p95 {np.percentile(alone, 95):.2f}/"
          f"{np.percentile(shadowed, 95):.2f} ms")  # fmt: skip
    assert shadowed.max() < 500  # the small model's 1 s never reaches the client
    assert p50 < 10, (p50, p95)  # a shared, loaded machine: the 5 ms with room for its noise
    slow_rows = list(read_exchanges(tmp_path / "slow.db"))
    assert len(slow_rows) == requests + 1
    assert all(r["slm_status"] == 200 for r in slow_rows)  # the gateway's shutdown waited for the late pairs
    failed = _paired(tmp_path / "fail.db", 6)
    assert {(r["status"], r["slm_status"], r["slm_error"][:8]) for r in failed} == {(200, 500, "HTTP 500")}
    gone = _paired(tmp_path / "gone.db", 6)
    assert all(r["slm_status"] is None and "could not be reached" in r["slm_error"] for r in gone)
    stuck_rows = _paired(tmp_path / "stuck.db", 4)
    assert all(r["slm_error"] == "no answer within 0.3 s" for r in stuck_rows)
    report = live_verdict(tmp_path / "stuck.db")
    assert report.requests == 4
    assert report.slm.answered == 0
    assert report.agreement.overall["valid_call"].value == 0.0  # no answer counts against the small model


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    store = tmp_path / "old.db"
    open_store(store, create=True).dispose()
    new = [
        column for column in _columns(store) if column == "mode" or column.startswith(("slm_", "answered", "fallback"))
    ]
    with sqlite3.connect(store) as connection:
        for column in new:
            connection.execute(f"ALTER TABLE exchanges DROP COLUMN {column}")
        connection.execute("UPDATE slmswap_meta SET value = '1' WHERE key = 'schema'")
        connection.execute(
            "INSERT INTO exchanges (id, created, route, replica, stream, params, headers, status, total_ms, "
            "redactions, content) VALUES ('old', 1.0, 'upstream', 'r', 0, '{}', '{}', 200, 1.0, '{}', 'hello')"
        )
    assert len(new) == 13
    assert "mode" not in _columns(store)
    rows = list(read_exchanges(store))
    assert [(r["id"], r["content"], r["mode"], r["slm_status"]) for r in rows] == [("old", "hello", None, None)]
    assert set(new) <= set(_columns(store))
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT value FROM slmswap_meta").fetchone() == (str(SCHEMA_VERSION),)
    assert list(live_verdict(store).agreement.overall) == []  # a record-mode store has no pairs


def _columns(store: Path) -> list[str]:
    with sqlite3.connect(store) as connection:
        return [row[1] for row in connection.execute("PRAGMA table_info(exchanges)")]
