"""A stand-in for the hosted LLM: a real HTTP server (a small ASGI app under uvicorn) that answers Chat
Completions plain and streamed, with tool calls when tools are offered, and keeps what it received.

Behaviour by the request's ``model``: ``"fail-400"`` answers a 400 in OpenAI's shape; ``"slow"`` waits 2 s;
``"unstorable"`` answers with a NUL character, a lone surrogate and NaN;
``"stall-stream"`` sends one chunk and then nothing; ``"echo-key"`` puts the request's Authorization into its
answer (an upstream that leaks the key back). Otherwise the answer calls the first offered tool with the last
user message as ``{"text": ...}``, or says ``echo: <last user message>`` when no tool is offered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    """What the stand-in saw: each request's raw body and headers."""

    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)


def _answer(body: dict[str, Any], headers: dict[str, str]) -> tuple[str | None, list[dict[str, Any]]]:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    last = str(users[-1].get("content", "")) if users else ""
    if body.get("model") == "echo-key":
        return f"your key: {headers.get('authorization', '')}", []
    tools = body.get("tools") or []
    if tools:
        name = tools[0]["function"]["name"]
        return None, [
            {"id": "call_0", "type": "function", "function": {"name": name, "arguments": json.dumps({"text": last})}}
        ]
    return f"echo: {last}", []


_UNSTORABLE = (
    b'{"model": "x", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", '
    b'"content": "nul \\u0000 lone \\ud800", "tool_calls": [{"id": "c", "type": "function", '
    b'"function": {"name": "lookup", "arguments": "{\\"x\\": \\"\\\\u0000\\"}"}}]}}], '
    b'"usage": {"prompt_tokens": NaN}}'
)


def build_app(received: Received) -> Starlette:
    async def chat(request: Request) -> Response:
        try:
            raw = await request.body()
        except ClientDisconnect:  # a gateway killed while sending
            return Response(status_code=499)
        received.bodies.append(raw)
        received.headers.append(dict(request.headers))
        received.queries.append(request.url.query)
        body = json.loads(raw)
        model = body.get("model")
        if model == "fail-400":
            return JSONResponse({"error": {"message": "bad model", "type": "invalid_request_error"}}, status_code=400)
        if model == "slow":
            await asyncio.sleep(2)
        if model == "unstorable":  # valid JSON no database takes as it is: NUL, a lone surrogate, NaN
            return Response(_UNSTORABLE, media_type="application/json")
        content, calls = _answer(body, dict(request.headers))
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
            return JSONResponse(
                {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": f"{model}-upstream",
                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
                    "usage": usage,
                }
            )

        async def events() -> Any:
            def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
                data = {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion.chunk",
                    "model": f"{model}-upstream",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return f"data: {json.dumps(data)}\n\n".encode()

            yield chunk({"role": "assistant", "content": ""})
            if model == "stall-stream":
                await asyncio.sleep(30)
            for piece in (content or "").split(" "):
                if content:
                    yield chunk({"content": piece + " " if piece != content.split(" ")[-1] else piece})
            for k, call in enumerate(calls):
                arguments = call["function"]["arguments"]
                opening = {"name": call["function"]["name"], "arguments": ""}
                yield chunk({"tool_calls": [{"index": k, "id": call["id"], "type": "function", "function": opening}]})
                for start in range(0, len(arguments), 5):
                    yield chunk({"tool_calls": [{"index": k, "function": {"arguments": arguments[start : start + 5]}}]})
            yield chunk({}, "tool_calls" if calls else "stop")
            tail = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "choices": [], "usage": usage}
            yield f"data: {json.dumps(tail)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(_request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "standin", "object": "model", "owned_by": "tests"}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/openai/deployments/{deployment}/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )


@contextmanager
def serve_in_thread(app: Any, port: int | None = None) -> Iterator[str]:
    """``app`` served by uvicorn on loopback in a thread; yields its ``http://127.0.0.1:PORT``."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def standin() -> Iterator[tuple[str, Received]]:
    """The stand-in hosted LLM on loopback: its ``/v1`` base URL and what it receives."""
    received = Received()
    with serve_in_thread(build_app(received)) as url:
        yield f"{url}/v1", received
