"""Server-sent events of a streamed chat completion: cutting the upstream's bytes into events (each forwarded as
soon as it is whole, byte for byte), and adding up the chunks' deltas into the answer a plain request would
have given, which the codec (:func:`slmswap.data.openai.parse_openai_answer`) then reads like any other; and
the reverse, a whole answer told as a stream's events (:func:`answer_events`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventSplitter", "StreamedAnswer", "answer_events", "event_data", "streamed_answer"]

_SEPARATORS = (b"\r\n\r\n", b"\n\n", b"\r\r")


class EventSplitter:
    """Cuts a byte stream into whole events (each with its blank-line separator); holds at most one partial
    event."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The events ``data`` completes, in order."""
        self._pending += data
        events: list[bytes] = []
        while True:
            cuts = [(at, len(sep)) for sep in _SEPARATORS if (at := self._pending.find(sep)) >= 0]
            if not cuts:
                return events
            at, width = min(cuts)
            events.append(self._pending[: at + width])
            self._pending = self._pending[at + width :]

    def rest(self) -> bytes:
        """What came after the last whole event (a stream cut short)."""
        rest, self._pending = self._pending, b""
        return rest


def event_data(event: bytes) -> str | None:
    """The ``data:`` field of one event (lines joined), or ``None`` when it has none (a comment, a keep-alive)."""
    lines = []
    for line in event.decode("utf-8", "replace").splitlines():
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
    return "\n".join(lines) if lines else None


@dataclass
class StreamedAnswer:
    """The sum of a stream's chunks: the first choice's content and tool calls (their ``arguments`` pieces
    joined), finish reason, usage and model; an upstream ``error`` event is kept as the error."""

    model: str | None = None
    content: str = ""
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None
    chunks: int = 0

    def add(self, data: str) -> None:
        """Add one event's data (a JSON chunk); a chunk that is not one is an error, never an exception."""
        try:
            chunk = json.loads(data)
        except ValueError:
            self.error = f"a stream chunk is not JSON: {data[:200]!r}"
            return
        if not isinstance(chunk, dict):
            self.error = f"a stream chunk is a JSON {type(chunk).__name__}, not an object"
            return
        self.chunks += 1
        if "error" in chunk:
            self.error = json.dumps(chunk["error"], ensure_ascii=False)[:2000]
            return
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice)

    def _choice(self, choice: dict[str, Any]) -> None:
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        if isinstance(delta.get("content"), str):
            self.content += delta["content"]
        for piece in delta.get("tool_calls") or []:
            if not isinstance(piece, dict):
                self.error = "a stream chunk's tool_calls entry is not an object"
                continue
            index = piece.get("index", len(self.calls))
            call = self.calls.setdefault(
                index if isinstance(index, int) else len(self.calls),
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if isinstance(piece.get("id"), str):
                call["id"] = piece["id"]
            function = piece.get("function")
            if isinstance(function, dict):
                for key in ("name", "arguments"):
                    if isinstance(function.get(key), str):
                        call["function"][key] += function[key]

    def response(self) -> dict[str, Any]:
        """The answer as a plain (non-streamed) Chat Completions response body."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.calls:
            message["tool_calls"] = [self.calls[index] for index in sorted(self.calls)]
        body: dict[str, Any] = {
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            body["usage"] = self.usage
        return body


def streamed_answer(content: bytes) -> StreamedAnswer:
    """A whole stream's bytes (``content``) added up into its answer (``[DONE]`` and comments skipped)."""
    answer = StreamedAnswer()
    for event in EventSplitter().feed(content):
        data = event_data(event)
        if data is not None and data.strip() != "[DONE]":
            answer.add(data)
    return answer


def answer_events(answer: dict[str, Any]) -> bytes:
    """A whole Chat Completions answer (one the codec reads) as the events a stream of it gives: a chunk with
    the role, the text and the calls (each call whole, with its ``index``), a chunk with the finish reason and
    the usage, then ``data: [DONE]``."""
    choice = answer["choices"][0]
    message = choice["message"]
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": k, **call} for k, call in enumerate(message["tool_calls"])]
    head: dict[str, Any] = {key: answer[key] for key in ("id", "created", "model") if key in answer}
    chunks: list[dict[str, Any]] = [
        {**head, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {
            **head,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason") or "stop"}],
            **({"usage": answer["usage"]} if isinstance(answer.get("usage"), dict) else {}),
        },
    ]
    return b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks) + b"data: [DONE]\n\n"
