"""The gateway between a client and the stand-in hosted LLM (both real HTTP servers on loopback): what goes
through unchanged, what is recorded, and what is refused."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from slmswap.gateway import EXCHANGE_HEADER, read_exchanges
from tests.gateway.conftest import TOOLS, Gateway, GatewayFactory
from tests.gateway.standin import free_port


def _chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


def _rows(gateway: Gateway) -> list[dict[str, object]]:
    return list(read_exchanges(gateway.store))


def _is_openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return dict(error)


def test_a_plain_answer_comes_back_byte_for_byte_and_is_recorded_first(gateway: Gateway) -> None:
    body = json.dumps(_chat("hello", tools=TOOLS, temperature=0, max_tokens=32)).encode()
    direct = httpx.post(
        f"{gateway.upstream}/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    with gateway.client() as client:
        through = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        assert through.status_code == direct.status_code == 200
        assert through.content == direct.content
        assert gateway.received.bodies[-1] == body  # the request went on unchanged
        rows = _rows(gateway)  # read as soon as the answer is in: the row is already there
    assert [row["id"] for row in rows] == [through.headers[EXCHANGE_HEADER]]
    row = rows[0]
    assert row["status"] == 200
    assert row["error"] is None
    assert row["model"] == "m"
    assert row["upstream_model"] == "m-upstream"
    assert row["tools"] == TOOLS
    assert row["params"] == {"temperature": 0, "max_tokens": 32}
    assert row["tool_calls"] == [
        {"id": "call_0", "type": "function", "function": {"name": "lookup", "arguments": {"text": "hello"}}}
    ]
    assert row["finish_reason"] == "tool_calls"
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (11, 7, 18)
    assert row["total_ms"] >= row["upstream_ms"] > 0


def test_a_stream_comes_through_in_order_and_is_committed_before_done(gateway: Gateway) -> None:
    body = _chat("stream me", tools=TOOLS, stream=True)
    direct = httpx.post(f"{gateway.upstream}/chat/completions", json=body).content
    seen_before_done = None
    events = []
    with gateway.client() as client, client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line == "data: [DONE]":
                seen_before_done = _rows(gateway)
            events.append(line)
    assert "\n".join(events).strip() == direct.decode().strip()
    assert seen_before_done is not None
    assert [row["id"] for row in seen_before_done] == [response.headers[EXCHANGE_HEADER]]
    row = seen_before_done[0]
    assert row["stream"] is True
    assert row["error"] is None
    assert row["tool_calls"] == [
        {"id": "call_0", "type": "function", "function": {"name": "lookup", "arguments": {"text": "stream me"}}}
    ]
    assert row["total_tokens"] == 18


def test_the_openai_client_works_through_the_gateway_plain_and_streamed(gateway: Gateway) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-client-key-0123456789abcdef")
    plain = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.content == "echo: hi"
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "a b c"}],
        tools=TOOLS,
        stream=True,  # type: ignore[arg-type]
    )
    arguments = "".join(
        call.function.arguments or ""
        for chunk in stream
        for choice in chunk.choices
        for call in choice.delta.tool_calls or []
        if call.function
    )
    assert json.loads(arguments) == {"text": "a b c"}
    assert [len(row["tool_calls"] or []) for row in _rows(gateway)] == [0, 1]
    assert client.models.list().data[0].id == "standin"


def test_an_upstream_error_is_passed_on_as_given_and_recorded_as_an_error(gateway: Gateway) -> None:
    body = json.dumps({"model": "fail-400", "messages": [{"role": "user", "content": "x"}]}).encode()
    direct = httpx.post(f"{gateway.upstream}/chat/completions", content=body)
    with gateway.client() as client:
        through = client.post("/v1/chat/completions", content=body)
    assert (through.status_code, through.content) == (400, direct.content)
    (row,) = _rows(gateway)
    assert row["status"] == 400
    assert "bad model" in str(row["error"])


def test_an_upstream_that_is_down_is_a_502_recorded_and_the_gateway_stays_up(make_gateway: GatewayFactory) -> None:
    with make_gateway(upstream=f"http://127.0.0.1:{free_port()}/v1") as gateway, gateway.client() as client:
        error = _is_openai_error(client.post("/v1/chat/completions", json=_chat("x")), 502)
        assert error["code"] == "upstream_unreachable"
        assert client.get("/healthz").json()["status"] == "ok"
        _is_openai_error(client.get("/v1/models"), 502)
        (row,) = _rows(gateway)
    assert row["status"] == 502
    assert "could not be reached" in str(row["error"])


def test_an_upstream_that_does_not_answer_in_time_is_a_504(make_gateway: GatewayFactory) -> None:
    with make_gateway(timeout=0.5) as gateway, gateway.client() as client:
        started = time.monotonic()
        error = _is_openai_error(client.post("/v1/chat/completions", json={**_chat("x"), "model": "slow"}), 504)
        assert time.monotonic() - started < 1.9
        assert error["code"] == "upstream_timeout"
        (row,) = _rows(gateway)
        assert row["status"] == 504
        stalled = client.post("/v1/chat/completions", json={**_chat("x"), "model": "stall-stream", "stream": True})
    assert stalled.status_code == 200  # the stream had begun: the failure comes as an error event, no [DONE]
    assert '"upstream_error"' in stalled.text
    assert "[DONE]" not in stalled.text
    assert _rows(gateway)[1]["error"] == "the upstream broke off the stream (ReadTimeout)"


def test_a_client_leaving_mid_stream_is_recorded_as_cut_short(gateway: Gateway) -> None:
    with (
        gateway.client() as client,
        client.stream(
            "POST", "/v1/chat/completions", json={**_chat("x"), "model": "stall-stream", "stream": True}
        ) as response,
    ):
        next(response.iter_lines())  # the first chunk, then the client goes
    deadline = time.monotonic() + 10
    while not _rows(gateway):
        assert time.monotonic() < deadline, "the cut-short stream was not recorded"
        time.sleep(0.05)
    (row,) = _rows(gateway)
    assert row["status"] == 499
    assert "disconnected" in str(row["error"])


def test_paths_and_methods_it_does_not_serve_get_openai_errors(gateway: Gateway) -> None:
    with gateway.client() as client:
        assert _is_openai_error(client.get("/v1/embeddings"), 404)["code"] == "unknown_url"
        _is_openai_error(client.post("/v2/chat/completions", json=_chat("x")), 404)
        _is_openai_error(client.get("/v1/chat/completions"), 405)
        assert client.get("/v1/models").json()["data"][0]["id"] == "standin"
        health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert gateway.received.bodies == []
    assert _rows(gateway) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b'{"model": "m", "messages": [', "not valid JSON"),
        (b"[1, 2]", "a JSON list"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"model": "m", "temperature": NaN, "messages": []}', "NaN is not JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_and_not_forwarded(
    gateway: Gateway, content: bytes, reason: str
) -> None:
    with gateway.client() as client:
        error = _is_openai_error(client.post("/v1/chat/completions", content=content), 400)
    assert reason in str(error["message"])
    assert gateway.received.bodies == []
    assert _rows(gateway) == []


def test_a_huge_body_is_a_413_whether_announced_or_not(make_gateway: GatewayFactory) -> None:
    big = json.dumps(_chat("x" * 1_200_000)).encode()
    with make_gateway(max_body_mb=1) as gateway, gateway.client() as client:
        _is_openai_error(client.post("/v1/chat/completions", content=big), 413)

        def chunks() -> object:  # no content-length: the limit is found while reading
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        _is_openai_error(client.post("/v1/chat/completions", content=chunks()), 413)  # type: ignore[arg-type]
        assert client.post("/v1/chat/completions", json=_chat("small")).status_code == 200
    assert len(gateway.received.bodies) == 1


def test_a_slow_client_is_cut_off_and_others_are_served_meanwhile(make_gateway: GatewayFactory) -> None:
    with make_gateway(body_timeout=1.0) as gateway:
        host, port = gateway.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as slow:
            slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            with gateway.client() as client:
                assert client.post("/v1/chat/completions", json=_chat("meanwhile")).status_code == 200
            slow.settimeout(5)
            started = time.monotonic()
            answer = slow.recv(4096)
            assert time.monotonic() - started < 3
        assert answer.startswith(b"HTTP/1.1 408")
        assert b"did not arrive within 1 s" in answer
    assert len(gateway.received.bodies) == 1


def test_the_clients_key_is_forwarded_by_default(gateway: Gateway) -> None:
    with gateway.client(authorization="Bearer sk-client-0123456789abcdef") as client:
        client.post("/v1/chat/completions", json=_chat("x"), headers={"x-slmswap-tag": "t", "cookie": "c=1"})
    sent = gateway.received.headers[-1]
    assert sent["authorization"] == "Bearer sk-client-0123456789abcdef"
    assert "x-slmswap-tag" not in sent
    assert "cookie" not in sent


def test_the_gateways_own_key_replaces_the_clients(make_gateway: GatewayFactory) -> None:
    with (
        make_gateway(api_key="sk-gateway-own-0123456789") as gateway,
        gateway.client(authorization="Bearer sk-client-0123456789abcdef") as client,
    ):
        client.post("/v1/chat/completions", json=_chat("x"))
        client.get("/v1/models")
    assert [headers["authorization"] for headers in gateway.received.headers] == ["Bearer sk-gateway-own-0123456789"]


def test_azure_keys_and_api_version(make_gateway: GatewayFactory) -> None:
    with make_gateway(upstream="http://placeholder") as probe:
        base = probe.upstream.removesuffix("/v1")
    with make_gateway(upstream=base, api_key="azure-own-key-0123", api_version="2024-10-21") as gateway:
        with gateway.client() as client:
            assert client.post("/v1/chat/completions", json={**_chat("x"), "model": "dep"}).status_code == 200
        assert gateway.received.queries[-1] == "api-version=2024-10-21"
        assert gateway.received.headers[-1]["api-key"] == "azure-own-key-0123"
        assert "authorization" not in gateway.received.headers[-1]
    with make_gateway(upstream=base) as gateway, gateway.client() as client:  # an AzureOpenAI client, its own key
        answer = client.post(
            "/openai/deployments/dep/chat/completions?api-version=2025-01-01",
            json=_chat("y"),
            headers={"api-key": "azure-client-key-0123"},
        )
        assert answer.json()["choices"][0]["message"]["content"] == "echo: y"
        assert gateway.received.queries[-1] == "api-version=2025-01-01"
        assert gateway.received.headers[-1]["api-key"] == "azure-client-key-0123"


def test_a_gateway_key_is_required_and_never_forwarded(make_gateway: GatewayFactory) -> None:
    with make_gateway(gateway_key="gw-secret-0123456789", api_key="sk-upstream-0123456789") as gateway:
        with gateway.client() as client:
            assert (
                _is_openai_error(client.post("/v1/chat/completions", json=_chat("x")), 401)["code"] == "invalid_api_key"
            )
            wrong = client.post(
                "/v1/chat/completions", json=_chat("x"), headers={"authorization": "Bearer gw-secret-0"}
            )
            _is_openai_error(wrong, 401)
            _is_openai_error(client.get("/v1/models"), 401)
        with gateway.client(authorization="Bearer gw-secret-0123456789") as client:
            assert client.post("/v1/chat/completions", json=_chat("x")).status_code == 200
        with gateway.client(**{"api-key": "gw-secret-0123456789"}) as client:
            assert client.post("/v1/chat/completions", json=_chat("x")).status_code == 200
    assert [h["authorization"] for h in gateway.received.headers] == ["Bearer sk-upstream-0123456789"] * 2
    assert all("api-key" not in h for h in gateway.received.headers)
    assert len(_rows(gateway)) == 2


def _store_bytes(store: Path) -> bytes:
    return b"".join(path.read_bytes() for path in store.parent.glob(store.name + "*"))


def test_an_upstream_key_echoed_back_never_reaches_the_store(make_gateway: GatewayFactory) -> None:
    key = "sk-upstream-secret-0123456789abcdef"
    with make_gateway(api_key=key) as gateway, gateway.client() as client:
        answer = client.post("/v1/chat/completions", json={**_chat("x"), "model": "echo-key"})
        assert key in answer.text  # forwarded as the upstream gave it
        (row,) = _rows(gateway)
    assert row["content"] == "your key: Bearer [redacted]"
    assert row["redactions"] == {"secret": 1}
    assert key.encode() not in _store_bytes(gateway.store)


def _streamed_arguments(stream: str) -> str:
    chunks = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: {")]
    return "".join(
        call["function"].get("arguments", "")
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls", [])
    )


def test_redaction_applies_to_the_store_never_to_what_is_forwarded(make_gateway: GatewayFactory) -> None:
    email, key = "jane.doe@example.com", "sk-proj-AbCdEfGhIjKlMnOpQrStUv0123"
    messages = [
        {"role": "user", "content": f"mail {email}, key {key}, order 42"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"text": email})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": f"found {email}"},
        {"role": "user", "content": f"again {email}"},
    ]
    body = json.dumps({"model": "m", "messages": messages, "tools": TOOLS, "stream": True}).encode()
    with make_gateway(redact=("email", "key"), redact_regex=("order=order \\d+",)) as gateway:
        with gateway.client() as client:
            streamed = client.post("/v1/chat/completions", content=body).text
            assert email in _streamed_arguments(streamed)  # the answer repeats it, unredacted, to the client
        assert gateway.received.bodies == [body]  # the upstream got it unchanged
        (row,) = _rows(gateway)
    assert row["redactions"] == {"email": 5, "key": 1, "order": 1}  # 4 in the request, 1 in the answer
    assert row["messages"][0]["content"] == "mail [redacted:email], key [redacted:key], [redacted:order]"  # type: ignore[index]
    arguments = row["messages"][1]["tool_calls"][0]["function"]["arguments"]  # type: ignore[index]
    assert json.loads(arguments) == {"text": "[redacted:email]"}
    assert row["tool_calls"][0]["function"]["arguments"] == {"text": "again [redacted:email]"}  # type: ignore[index]
    stored = _store_bytes(gateway.store)
    assert email.encode() not in stored
    assert key.encode() not in stored


def test_the_tag_and_only_the_listed_headers_are_stored(make_gateway: GatewayFactory) -> None:
    with make_gateway(record_headers=("X-Team",)) as gateway:
        with gateway.client(authorization="Bearer sk-client-0123456789abcdef") as client:
            for extra, headers in [
                ({}, {"x-slmswap-tag": "from-header", "x-team": "search", "x-other": "no"}),
                ({"metadata": {"tag": "from-metadata"}, "user": "u1"}, {}),
                ({"user": "from-user"}, {}),
                ({}, {}),
            ]:
                client.post("/v1/chat/completions", json=_chat("x", **extra), headers=headers)
        rows = _rows(gateway)
    assert [row["tag"] for row in rows] == ["from-header", "from-metadata", "from-user", None]
    assert [row["headers"] for row in rows] == [{"x-team": "search"}, {}, {}, {}]
    assert b"sk-client-0123456789abcdef" not in _store_bytes(gateway.store)
