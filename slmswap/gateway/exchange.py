"""One exchange as a store row: the request's fields, the answer read by the codec, the outcome and timings,
redacted and made storable (no NUL characters or lone surrogates, which databases refuse)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slmswap.data.openai import openai_message, parse_openai_answer
from slmswap.errors import DataError
from slmswap.gateway.modes import SlmAnswer
from slmswap.gateway.redaction import Redactor
from slmswap.schema import Message

__all__ = ["REPLICA", "Exchange", "answer_fields", "request_tag", "slm_fields"]

REPLICA = f"{os.uname().nodename}:{os.getpid()}"
"""Which gateway process wrote a row (host and process id): replicas sharing a store tell their rows apart."""

SAMPLING_PARAMETERS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "parallel_tool_calls",
    "reasoning_effort",
    "stream_options",
)
"""Request fields stored as the row's ``params``."""


def request_tag(header: str | None, body: Mapping[str, Any]) -> str | None:
    """The caller's tag: the ``X-Slmswap-Tag`` header, else ``metadata.tag``, else ``user``."""
    if header:
        return header
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("tag"), str):
        return str(metadata["tag"])
    user = body.get("user")
    return user if isinstance(user, str) else None


def _storable(value: Any) -> Any:
    """``value`` as every store takes it: no NUL characters or lone surrogates in strings (NaN cannot come: the
    request refuses it, and the codec reads the answer strictly)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def answer_fields(status: int, answer: object, error: str | None, redactor: Redactor) -> dict[str, Any]:
    """An answer's columns (``upstream_model``, ``content``, ``tool_calls``, ``finish_reason``, the tokens and
    ``error``), read by the codec: ``answer`` is the parsed response body (``None`` when there is none); one the
    codec cannot read, or an empty one, is an error (never training data), whatever the status."""
    fields: dict[str, Any] = {
        "upstream_model": None,
        "content": None,
        "tool_calls": None,
        "finish_reason": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "error": error,
    }
    if isinstance(answer, dict):
        model = answer.get("model")
        fields["upstream_model"] = model if isinstance(model, str) else None
        usage = answer.get("usage")
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        fields["total_tokens"] = total if isinstance(total, int) and not isinstance(total, bool) else None
        if status == 200 and error is None:
            try:
                parsed = parse_openai_answer(answer)
            except DataError as exc:
                fields["error"] = f"the answer is malformed: {exc}"
            else:
                if not parsed.content and not parsed.tool_calls:
                    fields["error"] = "the answer is empty: no content and no tool calls"
                else:
                    message = openai_message(
                        Message(role="assistant", content=parsed.content, tool_calls=parsed.tool_calls),
                        string_arguments=False,
                    )
                    fields["content"] = redactor.text(parsed.content) if parsed.content else None
                    fields["tool_calls"] = redactor.value(message.get("tool_calls"))
                fields["finish_reason"] = parsed.finish_reason
                fields["prompt_tokens"] = parsed.prompt_tokens
                fields["completion_tokens"] = parsed.completion_tokens
    if fields["error"] is not None:
        fields["error"] = redactor.text(fields["error"])[:4000]
    return fields


def slm_fields(
    status: int | None, answer: object, error: str | None, milliseconds: float, redactor: Redactor
) -> dict[str, Any]:
    """The small model's columns of a row (``slm_model``, ``slm_content``, ... ``slm_ms``), read as the LLM's
    answer is (:func:`answer_fields`); ``status`` is ``None`` when no HTTP answer came (a timeout, a refused
    connection)."""
    fields = answer_fields(status or 0, answer, error, redactor)
    out = {f"slm_{'model' if key == 'upstream_model' else key}": value for key, value in fields.items()}
    out["slm_status"] = status
    out["slm_ms"] = milliseconds
    return {key: _storable(value) for key, value in out.items()}


@dataclass
class Exchange:
    """An exchange being served: what the client asked, then what came back."""

    body: Mapping[str, Any]
    stream: bool
    tag: str | None
    headers: Mapping[str, str]
    route: str = "upstream"
    mode: str = "record"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    created: float = field(default_factory=time.time)
    upstream_ms: float | None = None
    shadow: asyncio.Task[SlmAnswer] | None = None
    """The small model's answer on its way (shadow mode)."""
    answered_by: str = "llm"
    """Whose answer the client gets: ``llm`` or ``slm``."""
    fallback_reason: str | None = None
    llm_asked: str = "always"
    """``always`` (the LLM is asked whatever the small model answers) or ``on_fallback`` (only when its answer is
    not valid: canary and slm modes without ``--hedge``)."""
    """Why the small model's answer was replaced by the LLM's (``"reason: detail"``)."""
    slm_columns: Mapping[str, Any] = field(default_factory=dict)
    """The small model's side of the row (:func:`slm_fields`) when it was asked before the row is stored."""

    def upstream_done(self, since: float) -> None:
        """Note the upstream's latency: from ``since`` (the request sent) until now."""
        self.upstream_ms = (time.perf_counter() - since) * 1000

    def row(self, status: int, answer: object, error: str | None, redactor: Redactor) -> dict[str, Any]:
        """The store row: ``answer`` is the parsed response body (``None`` when there is none); an answer the
        codec cannot read makes the row an error (never training data), whatever the status."""
        body = self.body
        row: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "tag": self.tag,
            "route": self.route,
            "replica": REPLICA,
            "stream": self.stream,
            "model": body.get("model") if isinstance(body.get("model"), str) else None,
            "messages": redactor.value(body.get("messages")),
            "tools": body.get("tools"),
            "tool_choice": body.get("tool_choice"),
            "response_format": body.get("response_format"),
            "params": {key: body[key] for key in SAMPLING_PARAMETERS if key in body},
            "headers": dict(self.headers),
            "status": status,
            "upstream_ms": self.upstream_ms,
            "mode": self.mode,
            "answered_by": self.answered_by,
            "fallback_reason": self.fallback_reason,
            "llm_asked": self.llm_asked,
            **answer_fields(status, answer, error, redactor),
            **self.slm_columns,
        }
        row["total_ms"] = (time.perf_counter() - self.started) * 1000
        row["redactions"] = dict(redactor.counts)
        return {key: _storable(value) for key, value in row.items()}
