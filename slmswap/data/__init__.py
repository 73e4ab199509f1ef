"""Loaders: one per source format, each turning rows into validated :class:`~slmswap.schema.Conversation`\\ s.

Every loader takes a JSON / JSON-lines path, an iterable of dicts, or a ``datasets.Dataset``, and returns a
:class:`LoadResult` (a sequence of conversations). A bad row raises :class:`~slmswap.errors.DataError` naming
the source, line (or index) and field; with ``on_error="collect"`` bad rows are gathered in
``LoadResult.errors`` and the good ones kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any, Literal

from slmswap.data._result import LoadResult, OnError, RowParser, load_rows
from slmswap.data._source import Row, RowSource, iter_rows
from slmswap.data.bfcl import load_bfcl, load_bfcl_wheel, parse_bfcl_row
from slmswap.data.demo import load_demo_dataset
from slmswap.data.hermes import load_hermes, parse_hermes_row
from slmswap.data.openai import load_openai, parse_openai_row
from slmswap.data.prompt_completion import load_prompt_completion, parse_prompt_completion_row
from slmswap.data.sharegpt import load_sharegpt, parse_sharegpt_row
from slmswap.data.xlam import load_xlam, parse_xlam_row
from slmswap.errors import DataError

__all__ = [
    "LoadResult",
    "OnError",
    "RowSource",
    "SourceKind",
    "detect_kind",
    "load_bfcl",
    "load_bfcl_wheel",
    "load_conversations",
    "load_demo_dataset",
    "load_hermes",
    "load_openai",
    "load_prompt_completion",
    "load_sharegpt",
    "load_xlam",
]

SourceKind = Literal["openai", "sharegpt", "hermes", "xlam", "bfcl", "prompt_completion"]
"""The row shapes :func:`load_conversations` understands."""

_PARSERS: dict[str, RowParser] = {
    "openai": parse_openai_row,
    "sharegpt": parse_sharegpt_row,
    "hermes": parse_hermes_row,
    "xlam": parse_xlam_row,
    "bfcl": parse_bfcl_row,
    "prompt_completion": parse_prompt_completion_row,
}

_SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("openai", ("messages",)),
    ("sharegpt", ("conversations",)),
    ("xlam", ("query", "answers")),
    ("bfcl", ("question", "function")),
    ("prompt_completion", ("prompt", "completion")),
)


def detect_kind(row: Mapping[str, Any]) -> SourceKind:
    """Which loader a row is for, from its keys (and, for ShareGPT rows, a Hermes ``<tools>`` system turn)."""
    for kind, keys in _SIGNATURES:
        if all(key in row for key in keys):
            if kind == "sharegpt" and _is_hermes(row["conversations"]):
                return "hermes"
            return kind  # type: ignore[return-value]
    expected = "; ".join(" + ".join(keys) for _, keys in _SIGNATURES)
    raise DataError(f"cannot tell the row's format from its keys {sorted(row)}", hint=f"rows need: {expected}")


def _is_hermes(turns: object) -> bool:
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], Mapping):
        return False
    first = turns[0]
    return first.get("from") == "system" and "<tools>" in str(first.get("value", ""))


def load_conversations(
    source: RowSource, kind: SourceKind | Literal["auto"] = "auto", *, on_error: OnError = "raise"
) -> LoadResult:
    """Load rows of any supported shape; ``kind="auto"`` picks the loader from the first readable row."""
    rows = iter_rows(source)
    if kind == "auto":
        head: list[Row | DataError] = []
        for row in rows:
            if isinstance(row, Row):
                try:
                    kind = detect_kind(row.data)
                except DataError as exc:
                    if on_error != "collect":
                        raise row.error(exc) from None
                    head.append(row.error(exc))  # collected like any bad row; the next row decides
                    continue
                head.append(row)
                break
            head.append(row)
        rows = chain(head, rows)
        if kind == "auto":  # no readable row: let the generic loop report what was wrong
            kind = "openai"
    return load_rows(rows, _PARSERS[kind], on_error=on_error)
