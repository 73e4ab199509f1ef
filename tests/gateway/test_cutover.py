"""Canary and slm modes: which callers the small model answers (a stable share of them), the fallback to the LLM
for each kind of invalid answer (its reason stored), streams told from the small model's whole answer, and the
command line's refusals."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from slmswap.gateway import ANSWERED_BY_HEADER, read_exchanges
from slmswap.gateway.canary import in_canary
from slmswap.gateway.sse import EventSplitter, StreamedAnswer, event_data
from slmswap.live import live_verdict
from tests.cli.cli import slmswap
from tests.gateway.conftest import TOOLS, GatewayFactory
from tests.gateway.slm_standin import SmallModel, small_model


@pytest.fixture
def slm() -> Iterator[SmallModel]:
    with small_model() as model:
        yield model


def _body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "tools": TOOLS, "messages": [{"role": "user", "content": text}], **extra}


def _binomial_99(n: int, p: float) -> tuple[int, int]:
    """The central 99 % range of Binomial(n, p): the counts k with P(X < k) >= 0.005 and P(X > k) >= 0.005."""
    logs = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
        for k in range(n + 1)
    ]
    pmf = [math.exp(v) for v in logs]
    below, low = 0.0, 0
    while below + pmf[low] < 0.005:
        below += pmf[low]
        low += 1
    above, high = 0.0, n
    while above + pmf[high] < 0.005:
        above += pmf[high]
        high -= 1
    return low, high


def test_the_canary_hash_is_stable_and_grows_with_the_fraction() -> None:
    tags = [f"caller-{k}" for k in range(500)] + [None]
    assert not any(in_canary(tag, 0.0) for tag in tags)
    assert all(in_canary(tag, 1.0) for tag in tags)
    for tag in tags:
        assert in_canary(tag, 0.3) == in_canary(tag, 0.3)
        assert not in_canary(tag, 0.3) or in_canary(tag, 0.6)  # raising the share only adds callers


def test_canary_serves_a_binomial_share_of_callers_and_each_caller_stays(
    make_gateway: GatewayFactory, slm: SmallModel
) -> None:
    callers, p = 2000, 0.3
    with make_gateway(slm=slm.url, mode="canary", fraction=p) as gateway:

        def ask(k: int) -> str:
            with gateway.client(**{"x-slmswap-tag": f"caller-{k}"}) as client:
                response = client.post("/v1/chat/completions", json=_body(f"find {k}"))
            assert response.status_code == 200, response.text
            return response.headers[ANSWERED_BY_HEADER]

        with ThreadPoolExecutor(8) as pool:
            first = list(pool.map(ask, range(callers)))
            again = list(pool.map(ask, range(0, callers, 10)))
        by_user = []
        with gateway.client() as client:  # the ``user`` field is the tag when no header is sent
            for k in range(0, 100, 10):
                response = client.post("/v1/chat/completions", json=_body("find", user=f"caller-{k}"))
                by_user.append(response.headers[ANSWERED_BY_HEADER])
        rows = list(read_exchanges(gateway.store))
    served = first.count("slm")
    low, high = _binomial_99(callers, p)
    assert low <= served <= high, (served, low, high)
    assert again == first[::10]  # each caller keeps its model
    assert by_user == first[:100:10]
    assert len(rows) == callers + len(again) + len(by_user)
    slm_rows = [row for row in rows if row["answered_by"] == "slm"]
    assert {row["mode"] for row in rows} == {"canary"}
    assert all(row["slm_status"] == 200 and row["upstream_ms"] is None for row in slm_rows)
    assert len(gateway.received.bodies) == len(rows) - len(slm_rows)  # the LLM was asked only for its callers
    assert all(row["answered_by"] == "slm" for row in rows if row["tag"] is not None and in_canary(row["tag"], p))
    # a row the small model answered alone holds no LLM answer: neither training data nor a pair
    usable = list(read_exchanges(gateway.store, usable=True))
    assert len(usable) == len(rows) - len(slm_rows)


def test_slm_mode_answers_with_the_small_model_plain_and_streamed(
    make_gateway: GatewayFactory, slm: SmallModel
) -> None:
    with make_gateway(slm=slm.url, mode="slm") as gateway:
        client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="k", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(**_body("find tea"))  # type: ignore[call-overload]
        plain = raw.parse()
        streamed = list(client.chat.completions.create(**_body("find tea"), stream=True))  # type: ignore[call-overload]
        with gateway.client() as http:
            events = http.post("/v1/chat/completions", json=_body("find tea", stream=True))
        rows = list(read_exchanges(gateway.store))
    assert raw.headers[ANSWERED_BY_HEADER] == "slm"
    assert plain.model == "small"
    assert plain.choices[0].message.tool_calls[0].function.name == "lookup"
    calls = [call for chunk in streamed for choice in chunk.choices for call in choice.delta.tool_calls or []]
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [("lookup", {"text": "find tea"})]
    assert streamed[-1].choices[0].finish_reason == "tool_calls"
    assert events.headers["content-type"].startswith("text/event-stream")
    answer = StreamedAnswer()
    for event in EventSplitter().feed(events.content):
        data = event_data(event)
        if data is not None and data.strip() != "[DONE]":
            answer.add(data)
    assert answer.error is None
    assert answer.response()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "lookup"
    assert gateway.received.bodies == []  # the LLM was never asked
    assert [(row["mode"], row["answered_by"], row["status"]) for row in rows] == [("slm", "slm", 200)] * 3
    assert [row["stream"] for row in rows] == [False, True, True]
    assert all(row["slm_tool_calls"][0]["function"]["name"] == "lookup" for row in rows)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("fail", "error"),
        ("garbage", "malformed"),
        ("unknown_tool", "unknown_tool"),
        ("bad_arguments", "invalid_arguments"),
        ("slow", "timeout"),
    ],
)
def test_an_invalid_small_model_answer_falls_back_to_the_llm(
    make_gateway: GatewayFactory, behaviour: str, reason: str
) -> None:
    with (
        small_model(behaviour, delay=3.0) as bad,
        make_gateway(slm=bad.url, mode="slm", slm_timeout=0.5) as gateway,
        gateway.client() as client,
    ):
        plain = client.post("/v1/chat/completions", json=_body("find tea"))
        streamed = client.post("/v1/chat/completions", json=_body("find tea", stream=True))
        rows = list(read_exchanges(gateway.store))
    assert plain.status_code == 200
    assert plain.headers[ANSWERED_BY_HEADER] == "llm"
    assert plain.json()["model"] == "m-upstream"  # the LLM's answer
    assert "data: [DONE]" in streamed.text
    assert len(gateway.received.bodies) == 2
    assert len(rows) == 2
    for row in rows:
        assert (row["mode"], row["answered_by"], row["status"]) == ("slm", "llm", 200)
        assert row["fallback_reason"].split(":")[0] == reason
        assert row["upstream_model"] == "m-upstream"
        assert row["slm_ms"] > 0
    assert len(list(read_exchanges(gateway.store, usable=True))) == 2  # a fallback is a pair and training data


def test_without_fallback_the_client_gets_the_small_models_failure(make_gateway: GatewayFactory) -> None:
    with (
        small_model("fail") as bad,
        make_gateway(slm=bad.url, mode="slm", fallback=False) as gateway,
        gateway.client() as client,
    ):
        response = client.post("/v1/chat/completions", json=_body("find tea"))
        rows = list(read_exchanges(gateway.store))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "slm_error"
    assert gateway.received.bodies == []
    assert [(row["answered_by"], row["status"], row["fallback_reason"]) for row in rows] == [("slm", 502, None)]
    assert rows[0]["slm_status"] == 500


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "canary", "--slm", "http://127.0.0.1:1/v1"], "--fraction"),
        (["--mode", "canary", "--fraction", "0.1"], "--slm"),
        (["--mode", "canary", "--slm", "http://127.0.0.1:1/v1", "--fraction", "1.5"], "between 0 and 1"),
        (["--mode", "slm", "--slm", "http://127.0.0.1:1/v1", "--fraction", "0.5"], "--fraction is for"),
    ],
)
def test_the_command_line_refuses_a_bad_mode(tmp_path: Path, extra: list[str], message: str) -> None:
    result = slmswap("gateway", "--upstream", "http://127.0.0.1:1/v1", "--store", tmp_path / "t.db", *extra)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_hedge_pairs_every_row_and_a_fallback_waits_for_no_second_request(make_gateway: GatewayFactory) -> None:
    # The LLM ("slow") takes 2 s; a small model that never answers in time costs its 2 s timeout. Asked one after
    # the other that is 4 s; hedged, the LLM's answer is on its way while the small model is waited for.
    with small_model() as good, make_gateway(slm=good.url, mode="slm", hedge=True) as gateway, gateway.client() as c:
        served = c.post("/v1/chat/completions", json=_body("find tea"))
        streamed = c.post("/v1/chat/completions", json=_body("find tea", stream=True))
    assert [served.headers[ANSWERED_BY_HEADER], streamed.headers[ANSWERED_BY_HEADER]] == ["slm", "slm"]
    rows = list(read_exchanges(gateway.store))
    assert len(gateway.received.bodies) == 2  # the LLM was asked for both
    for row in rows:  # the LLM's answer came after the client's and was stored with the row: a pair
        assert (row["answered_by"], row["upstream_model"], row["slm_model"]) == ("slm", "m-upstream", "small")
        assert row["tool_calls"][0]["function"]["arguments"] == {"text": "find tea"}
        assert row["upstream_ms"] > 0
    assert len(list(read_exchanges(gateway.store, usable=True))) == 2
    with (
        small_model("slow", delay=5.0) as slow,
        make_gateway(
            slm=slow.url, mode="slm", hedge=True, slm_timeout=2.0, store=gateway.store.with_name("h.db")
        ) as hedged,
        hedged.client() as client,
    ):
        started = time.perf_counter()
        fallback = client.post("/v1/chat/completions", json=_body("find tea", model="slow"))
        seconds = time.perf_counter() - started
        (row,) = read_exchanges(hedged.store)
    assert fallback.headers[ANSWERED_BY_HEADER] == "llm"
    assert fallback.json()["model"] == "slow-upstream"
    assert row["fallback_reason"].startswith("timeout")
    assert seconds < 3.5, seconds  # one wait of about 2 s, not 2 s for the small model then 2 s for the LLM


def test_hedge_needs_a_mode_with_fallback(tmp_path: Path) -> None:
    for extra, message in (
        (["--mode", "shadow", "--hedge"], "--hedge is for"),
        (["--mode", "slm", "--hedge", "--no-fallback"], "--no-fallback"),
    ):
        result = slmswap(
            "gateway", "--upstream", "http://127.0.0.1:1/v1", "--slm", "http://127.0.0.1:1/v1",
            "--store", tmp_path / "t.db", *extra,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert message in result.stderr


def test_a_canary_shadows_the_other_callers_and_its_verdict_leaves_out_pairs_chosen_by_their_outcome(
    make_gateway: GatewayFactory,
) -> None:
    # A small model that always calls a tool never offered: every canary caller falls back. Without --hedge the
    # LLM was asked for them only because of that, so those pairs would bias the agreement: the verdict scores
    # only the callers outside the canary (shadowed), and counts the fallbacks over the canary's requests.
    callers, p = 40, 0.5
    with small_model("unknown_tool") as bad, make_gateway(slm=bad.url, mode="canary", fraction=p) as gateway:
        for k in range(callers):
            with gateway.client(**{"x-slmswap-tag": f"caller-{k}"}) as client:
                assert client.post("/v1/chat/completions", json=_body(f"find {k}")).status_code == 200
    rows = list(read_exchanges(gateway.store))
    inside = [row for row in rows if in_canary(row["tag"], p)]
    outside = [row for row in rows if not in_canary(row["tag"], p)]
    assert inside
    assert outside
    assert all((r["llm_asked"], r["fallback_reason"].split(":")[0]) == ("on_fallback", "unknown_tool") for r in inside)
    assert all((r["llm_asked"], r["fallback_reason"], r["slm_status"]) == ("always", None, 200) for r in outside)
    report = live_verdict(gateway.store)
    assert report.requests == len(outside)
    assert report.agreement.overall["tool_name_match"].value == 0.0
    assert (report.fallbacks.count, report.fallbacks.requests) == (len(inside), len(inside))
    assert report.fallbacks.reasons == {"unknown_tool": len(inside)}
