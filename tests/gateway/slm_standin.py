"""A stand-in small model for the gateway's mode tests: a real HTTP server answering like the hosted LLM's
stand-in (a call of the first offered tool with the last user message as ``{"text": ...}``), unless told
otherwise by ``behaviour``: ``"slow"`` waits ``delay`` seconds first, ``"fail"`` answers a 500, ``"garbage"``
answers bytes that are not JSON, ``"unknown_tool"`` calls a tool never offered, ``"bad_arguments"`` breaks the
tool's schema. The behaviour may be changed while it runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateway.standin import serve_in_thread


@dataclass
class SmallModel:
    """The stand-in's behaviour and what it received."""

    behaviour: str = "answer"
    delay: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def _app(model: SmallModel) -> Starlette:
    async def chat(request: Request) -> Response:
        body = json.loads(await request.body())
        model.bodies.append(body)
        behaviour = model.behaviour
        if behaviour == "slow":
            await asyncio.sleep(model.delay)
        if behaviour == "fail":
            return JSONResponse({"error": {"message": "the small model broke", "type": "server_error"}}, 500)
        if behaviour == "garbage":
            return Response(b"<html>not an answer", media_type="text/html")
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        text = str(users[-1].get("content", "")) if users else ""
        tools = body.get("tools") or []
        name = "nope" if behaviour == "unknown_tool" or not tools else tools[0]["function"]["name"]
        arguments = {"text": 5} if behaviour == "bad_arguments" else {"text": text}
        call = {"id": "call_slm", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        return JSONResponse(
            {
                "id": "chatcmpl-slm",
                "object": "chat.completion",
                "created": 1700000000,
                "model": "small",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                     "finish_reason": "tool_calls"}
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
        )  # fmt: skip

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@contextmanager
def small_model(behaviour: str = "answer", delay: float = 0.0) -> Iterator[SmallModel]:
    """The stand-in small model on loopback; its ``url`` is the ``/v1`` base URL."""
    model = SmallModel(behaviour=behaviour, delay=delay)
    with serve_in_thread(_app(model)) as url:
        model.url = f"{url}/v1"
        yield model
