"""A stand-in for the hosted LLM that knows the answers: a real HTTP server (a small ASGI app under uvicorn) that
answers each of a set of conversations' prompts with the conversation's own last assistant turn (the demo's
reference answer), in OpenAI's wire shape (:func:`~slmswap.data.openai.openai_message`), after a fixed delay.

A prompt is looked up by its last user message; one it does not know is a 404 in OpenAI's error shape. Its
answers are byte for byte the same every time (a fixed id and ``created``), so a client's answer can be compared
with the stand-in's own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slmswap.data.openai import openai_message
from slmswap.schema import Conversation
from tests.gateway.standin import serve_in_thread

MODEL = "reference-llm"
"""The model the stand-in says answered."""


def last_user_message(messages: Sequence[Any]) -> str:
    """The text of the last ``user`` message of OpenAI ``messages`` (``""`` when there is none)."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else ""


def reference_answers(conversations: Sequence[Conversation]) -> dict[str, bytes]:
    """Each conversation's last user message → its last assistant turn as a Chat Completions response body."""
    answers: dict[str, bytes] = {}
    for conversation in conversations:
        last = conversation.assistant_indices()[-1]
        reference = conversation.messages[last]
        users = [m for m in conversation.messages[:last] if m.role == "user"]
        key = users[-1].content or ""
        assert key not in answers, f"two conversations end on the same user message: {key!r}"
        answers[key] = json.dumps(
            {
                "id": "chatcmpl-reference",
                "object": "chat.completion",
                "created": 1700000000,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": openai_message(reference),
                        "finish_reason": "tool_calls" if reference.tool_calls else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        ).encode()
    return answers


def reference_app(conversations: Sequence[Conversation], delay: float = 0.0) -> Starlette:
    """The stand-in's app: each known prompt answered with its reference after ``delay`` seconds."""
    answers = reference_answers(conversations)

    async def chat(request: Request) -> Response:
        body = json.loads(await request.body())
        answer = answers.get(last_user_message(body.get("messages") or []))
        if delay:
            await asyncio.sleep(delay)
        if answer is None:
            error = {"message": "the stand-in does not know this prompt", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, status_code=404)
        return Response(answer, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@contextmanager
def reference_llm(conversations: Sequence[Conversation], delay: float = 0.0) -> Iterator[str]:
    """The stand-in on loopback: its ``/v1`` base URL."""
    with serve_in_thread(reference_app(conversations, delay)) as url:
        yield f"{url}/v1"
