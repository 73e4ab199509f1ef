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

__all__ = [
    "PairedExchange",
    "is_store",
    "parse_exchange",
    "parse_time",
    "read_exchanges",
    "read_fallback_reasons",
    "read_store",
]


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


_SQLITE_MAGIC = b"SQLite format 3\x00"


def is_store(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` names a traffic store (a database URL, or a SQLite file) rather than a JSON-lines
    file."""
    text = os.fspath(source)
    if "://" in text:
        return True
    try:
        with open(text, "rb") as handle:
            return handle.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def read_fallback_reasons(
    store: str | os.PathLike[str], *, since: datetime | float | str | None = None
) -> Iterator[str | None]:
    """For each request of a traffic store the small model was to answer (canary and slm modes), oldest first:
    why its answer was replaced by the LLM's, or ``None`` when the client got it.

    Raises:
        ConfigError: When the store is missing or cannot be opened.
    """
    from slmswap.data import traffic  # the gateway extra (SQLAlchemy): only a store needs it

    for row in traffic.read_exchanges(store, since=since):
        if row["mode"] in ("canary", "slm") and (row["answered_by"] == "slm" or row["fallback_reason"] is not None):
            yield row["fallback_reason"]


def _stored_answer(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": row[f"{prefix}content"]}
    if row[f"{prefix}tool_calls"]:
        message["tool_calls"] = row[f"{prefix}tool_calls"]
    usage = {
        key: row[f"{prefix}{key}"]
        for key in ("prompt_tokens", "completion_tokens")
        if row[f"{prefix}{key}"] is not None
    }
    return {"choices": [{"message": message, "finish_reason": row[f"{prefix}finish_reason"]}], "usage": usage or None}


def _milliseconds(value: object) -> float | None:
    return float(value) / 1000 if isinstance(value, (int, float)) else None


def read_store(
    store: str | os.PathLike[str], *, since: datetime | float | str | None = None
) -> Iterator[PairedExchange]:
    """The paired exchanges of a traffic store the gateway wrote in shadow, canary or slm mode, oldest first.

    A pair is a row where the LLM gave a usable answer (the reference) and the small model was asked: its answer,
    or ``slm_error`` saying why it gave none (an error, a timeout, a malformed answer; these count against it).
    A shadow row whose small model's side has not arrived yet is left out until it has. A fallback row where the
    LLM was asked only because the small model's answer was not valid (``llm_asked="on_fallback"``: canary and slm
    modes without ``--hedge``) is left out too: a pair chosen by its outcome would bias the agreement down (it is
    counted among the fallbacks, :func:`read_fallback_reasons`).

    Raises:
        ConfigError: When the store is missing or cannot be opened.
    """
    from slmswap.data import traffic  # the gateway extra (SQLAlchemy): only a store needs it

    for row in traffic.read_exchanges(store, since=since, usable=True):
        if row["mode"] in (None, "record") or (row["slm_status"] is None and row["slm_error"] is None):
            continue
        if row["llm_asked"] == "on_fallback":
            continue
        slm: OpenAIAnswer | None = None
        slm_error = row["slm_error"]
        if slm_error is None:
            try:
                slm = parse_openai_answer(_stored_answer(row, "slm_"))
            except DataError as exc:
                slm_error = f"malformed answer: {exc}"
        yield PairedExchange(
            id=row["id"],
            time=datetime.fromtimestamp(row["created"], tz=timezone.utc),
            tools=tuple(parse_openai_tools(row["tools"] or [], "tools")),
            llm=parse_openai_answer(_stored_answer(row, "")),
            slm=slm,
            llm_seconds=_milliseconds(row["upstream_ms"]),
            slm_seconds=_milliseconds(row["slm_ms"]),
            slm_error=slm_error,
            fallback=row["fallback_reason"],
        )
