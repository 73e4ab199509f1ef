"""A stand-in teacher (the stronger hosted LLM a relabelling asks): a real HTTP server answering Chat
Completions. A request whose last user message says "please ask NAME about DATE" gets the call
``get_weather(city=NAME, date=DATE)``; any other gets the text "I cannot help with that.". Asked as the model
"refuser", it always answers that text (a weak model, for the gap closed)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateway.standin import serve_in_thread

_ASK = re.compile(r"please ask (\w+) about (\S+)")
REFUSAL = "I cannot help with that."


def teacher_answer(user: str) -> dict[str, Any]:
    """The assistant message the teacher gives for a last user message."""
    found = _ASK.search(user)
    if found is None:
        return {"role": "assistant", "content": REFUSAL}
    arguments = json.dumps({"city": found.group(1), "date": found.group(2)})
    call = {"id": "call_t", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


@contextmanager
def teacher() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The teacher on loopback: its ``/v1`` base URL, and the request bodies it received."""
    received: list[dict[str, Any]] = []

    async def chat(request: Request) -> Response:
        body = json.loads(await request.body())
        received.append(body)
        users = [m for m in body["messages"] if m.get("role") == "user"]
        text = str(users[-1]["content"]) if users and body.get("model") != "refuser" else ""
        message = teacher_answer(text)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        choice = {"index": 0, "message": message, "finish_reason": finish}
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        return JSONResponse({"id": "t", "object": "chat.completion", "choices": [choice], "usage": usage})

    with serve_in_thread(Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])) as url:
        yield f"{url}/v1", received
