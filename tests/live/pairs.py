"""Planted paired traffic: the LLM calls ``get_weather`` (or answers in prose where no tool fits), the small model
agrees with a known probability, and every row is a real Chat Completions answer body."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from slmswap.data.openai import OpenAIAnswer
from slmswap.live import PairedExchange
from slmswap.schema import Tool, ToolCall

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
START = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


def call(city: str, name: str = "get_weather") -> OpenAIAnswer:
    """An answer calling ``name`` for ``city``."""
    return OpenAIAnswer("", (ToolCall(name=name, arguments={"city": city}),), "tool_calls", 9, 40)


def planted(rate: float, n: int, *, seed: int = 0) -> list[PairedExchange]:
    """``n`` requests one second apart; the small model makes the LLM's call, arguments included, with
    probability ``rate`` (else it gets the city wrong)."""
    rng = np.random.default_rng(seed)
    agree = rng.random(n) < rate
    return [
        PairedExchange(
            id=str(i),
            time=START + timedelta(seconds=i),
            tools=(WEATHER,),
            llm=call(f"city {i}"),
            slm=call(f"city {i}" if agree[i] else "Atlantis"),
            llm_seconds=0.8,
            slm_seconds=0.1,
        )
        for i in range(n)
    ]


def body(answer: OpenAIAnswer) -> dict[str, Any]:
    """``answer`` as the Chat Completions response body a server sends."""
    calls = [
        {"id": f"call_{k}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
        for k, c in enumerate(answer.tool_calls)
    ]
    message = {"role": "assistant", "content": answer.content or None, "tool_calls": calls or None}
    usage = {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens}
    return {"choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason}], "usage": usage}


def write_jsonl(path: Path, exchanges: list[PairedExchange]) -> Path:
    """``exchanges`` as a JSON-lines file of paired rows."""
    rows = [
        {
            "id": e.id,
            "time": e.time.isoformat().replace("+00:00", "Z"),
            "tools": [tool.to_openai() for tool in e.tools],
            "llm": body(e.llm),
            "slm": body(e.slm) if e.slm is not None else None,
            "llm_seconds": e.llm_seconds,
            "slm_seconds": e.slm_seconds,
            "slm_error": e.slm_error,
            "fallback": e.fallback,
        }
        for e in exchanges
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
