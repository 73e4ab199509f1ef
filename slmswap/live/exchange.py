"""One paired live exchange: a request's tools, the LLM's answer and the small model's, how long each took, and
whether the small model's answer was replaced (fallback); read from typed rows or from a JSON-lines file.

A file row holds the answers as the servers sent them, Chat Completions response bodies (a bare message
``{"content", "tool_calls"}`` is read too), read by the one OpenAI codec
(:func:`~slmswap.data.openai.parse_openai_answer`)::

    {"id": "r1", "time": "2026-12-02T10:00:00Z",
     "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {...}}}],
     "llm": {"choices": [{"message": {"role": "assistant", "tool_calls": [...]}}], "usage": {...}},
     "slm": {"choices": [{"message": {...}}]},
     "llm_seconds": 0.84, "slm_seconds": 0.12, "slm_error": null, "fallback": null}

``slm`` is ``null`` when the small model gave no answer (``slm_error`` says why: an error, a timeout). A small
model's answer that is not a valid Chat Completions answer is no answer: it counts against the small model, it
is not bad input. ``fallback`` is the reason the small model's answer was replaced by the LLM's (canary and slm
modes), ``null`` when it was not. A time without a zone is read as UTC.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from slmswap.data._source import Row, iter_rows
from slmswap.data.openai import OpenAIAnswer, parse_openai_answer, parse_openai_tools
from slmswap.errors import DataError
from slmswap.schema import Tool

__all__ = ["PairedExchange", "parse_exchange", "parse_time", "read_exchanges"]


@dataclass(frozen=True)
class PairedExchange:
    """One request answered by the LLM, with the small model's answer to the same request."""

    id: str
    time: datetime
    """When the request arrived (a time without a zone is taken as UTC)."""
    tools: tuple[Tool, ...]
    """The tools the request offered."""
    llm: OpenAIAnswer
    """The LLM's answer: the reference the small model is scored against."""
    slm: OpenAIAnswer | None
    """The small model's answer; ``None`` when it gave none (see ``slm_error``)."""
    llm_seconds: float | None = None
    slm_seconds: float | None = None
    slm_error: str | None = None
    """Why the small model gave no answer (an error, a timeout, a malformed answer)."""
    fallback: str | None = None
    """Why the small model's answer was replaced by the LLM's, when it was (``"unknown_tool: ..."``,
    ``"timeout"``); the text before the first ``:`` is the reason's kind."""

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:  # a time without a zone is UTC, as in a file row
            object.__setattr__(self, "time", self.time.replace(tzinfo=timezone.utc))


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``2026-12-02T10:00:00Z``, ``2026-12-02``) as a timezone-aware datetime; one without a
    zone is taken as UTC.

    Raises:
        ValueError: When ``text`` is not an ISO 8601 time.
    """
    stamp = text.strip()
    parsed = datetime.fromisoformat(stamp[:-1] + "+00:00" if stamp.endswith(("Z", "z")) else stamp)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _answer(raw: object) -> OpenAIAnswer:
    if isinstance(raw, Mapping) and "choices" not in raw:  # a bare message
        raw = {"choices": [{"message": dict(raw)}], "usage": raw.get("usage")}
    return parse_openai_answer(raw)


def _seconds(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise DataError(f"expected a number of seconds, got {value!r:.60}", field=key)
    return float(value)


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is not None and not isinstance(value, str):
        raise DataError(f"expected a string or null, got {type(value).__name__}", field=key)
    return value


def parse_exchange(row: Mapping[str, Any], *, default_id: str = "") -> PairedExchange:
    """One file row (see the module's docstring) as a :class:`PairedExchange`.

    Raises:
        DataError: Naming the field, when the row is not one (no ``time``, an LLM answer that is not a Chat
            Completions answer, ...).
    """
    stamp = row.get("time")
    if not isinstance(stamp, str):
        raise DataError("expected an ISO 8601 time such as 2026-12-02T10:00:00Z", field="time")
    try:
        time = parse_time(stamp)
    except ValueError:
        raise DataError(f"not an ISO 8601 time: {stamp!r:.60}", field="time") from None
    if "llm" not in row:
        raise DataError("missing required field (the LLM's answer)", field="llm")
    try:
        llm = _answer(row["llm"])
    except DataError as exc:
        raise DataError(exc.message, field=f"llm.{exc.field}" if exc.field else "llm") from None
    slm: OpenAIAnswer | None = None
    slm_error = _text(row, "slm_error")
    if row.get("slm") is not None:
        try:
            slm = _answer(row["slm"])
        except DataError as exc:  # a broken answer is the small model's failure, not bad input
            slm_error = f"malformed answer: {exc}"
    elif slm_error is None:
        slm_error = "no answer"
    row_id = row.get("id", default_id)
    return PairedExchange(
        id=str(row_id),
        time=time,
        tools=tuple(parse_openai_tools(row.get("tools") or [], "tools")),
        llm=llm,
        slm=slm,
        llm_seconds=_seconds(row, "llm_seconds"),
        slm_seconds=_seconds(row, "slm_seconds"),
        slm_error=slm_error,
        fallback=_text(row, "fallback"),
    )


def read_exchanges(path: str | os.PathLike[str]) -> Iterator[PairedExchange]:
    """The paired exchanges of a JSON-lines (or JSON array) file, in file order.

    Raises:
        DataError: Naming the file, line and field of the first row that is not a paired exchange.
    """
    for row in iter_rows(path):
        if isinstance(row, DataError):
            raise row
        yield _located(row)


def _located(row: Row) -> PairedExchange:
    try:
        return parse_exchange(row.data, default_id=str(row.line if row.line is not None else row.index))
    except DataError as exc:
        raise row.error(exc) from None
