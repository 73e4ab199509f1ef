"""Turning raw rows into conversations: the loop every loader shares, and its result."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, overload

from pydantic import ValidationError

from slmswap._json import StrictJsonError, json_path, strict_loads
from slmswap.data._source import Row
from slmswap.errors import DataError
from slmswap.schema import Conversation, Message, Tool

__all__ = [
    "LoadResult",
    "OnError",
    "RowParser",
    "as_data_error",
    "build_conversation",
    "data_error_from",
    "decode_json",
    "load_rows",
    "require",
]

OnError = Literal["raise", "collect"]
"""What a loader does with a bad row: stop with the error, or collect it and go on."""

RowParser = Callable[[Mapping[str, Any]], Conversation]
"""Turns one raw row into a conversation, raising :class:`DataError` (with ``field``) when it cannot."""


class LoadResult(Sequence[Conversation]):
    """The conversations a loader produced, in row order, plus the rows it could not use.

    It is a sequence of :class:`~slmswap.schema.Conversation`; the rows it could not use are in ``errors``.

    Attributes:
        errors (tuple[DataError, ...]): One located :class:`~slmswap.errors.DataError` per bad row (always empty
            when loading with ``on_error="raise"``).
    """

    def __init__(self, conversations: Sequence[Conversation], errors: Sequence[DataError]) -> None:
        self._conversations = tuple(conversations)
        self.errors: tuple[DataError, ...] = tuple(errors)

    @overload
    def __getitem__(self, index: int) -> Conversation: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Conversation]: ...
    def __getitem__(self, index: int | slice) -> Conversation | Sequence[Conversation]:
        return self._conversations[index]

    def __len__(self) -> int:
        return len(self._conversations)

    def __iter__(self) -> Iterator[Conversation]:
        return iter(self._conversations)

    def __repr__(self) -> str:
        return f"LoadResult({len(self)} conversations, {len(self.errors)} bad rows)"

    def report(self) -> str:
        """A human-readable summary: counts, then one line per bad row."""
        loaded, bad = len(self), len(self.errors)
        lines = [f"{loaded} conversation{'' if loaded == 1 else 's'} loaded, {bad} bad row{'' if bad == 1 else 's'}"]
        lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)


def load_rows(rows: Iterable[Row | DataError], parse_row: RowParser, *, on_error: OnError = "raise") -> LoadResult:
    """Apply ``parse_row`` to every row; stop at the first bad row or collect them all."""
    if on_error not in ("raise", "collect"):
        raise ValueError(f"on_error must be 'raise' or 'collect', got {on_error!r}")
    conversations: list[Conversation] = []
    errors: list[DataError] = []
    for row in rows:
        error: DataError
        if isinstance(row, Row):
            try:
                conversations.append(parse_row(row.data))
                continue
            except DataError as exc:
                error = row.error(exc)
        else:
            error = row
        if on_error == "raise":
            raise error
        errors.append(error)
    return LoadResult(conversations, errors)


def _under(field: str, sub: str | None) -> str | None:
    """The field path ``sub`` (relative) under ``field``: ``messages[2]`` and ``content`` -> ``messages[2].content``."""
    sub = sub or ""
    return (f"{field}.{sub}" if field and sub and not sub.startswith("[") else f"{field}{sub}") or None


def data_error_from(exc: ValidationError, field: str) -> DataError:
    """The first problem of a pydantic ``ValidationError`` as a :class:`DataError` under ``field``."""
    first = exc.errors()[0]
    return DataError(str(first["msg"]).removeprefix("Value error, "), field=_under(field, json_path(first["loc"])))


@contextmanager
def as_data_error(field: str) -> Iterator[None]:
    """Re-raise a pydantic ``ValidationError`` inside the block as a :class:`DataError` on ``field``, and a
    :class:`DataError` the typed core raised (a lone surrogate) with its field put under ``field``."""
    try:
        yield
    except ValidationError as exc:
        raise data_error_from(exc, field) from exc
    except DataError as exc:
        raise DataError(exc.message, field=_under(field, exc.field), hint=exc.hint) from exc


def build_conversation(
    messages: Sequence[Message],
    origins: Sequence[str],
    *,
    tools: Sequence[Tool] = (),
    row_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Conversation:
    """Build a conversation, naming the source field of a message (``origins[i]``) when validation fails."""
    try:
        return Conversation(messages=tuple(messages), tools=tuple(tools), id=row_id, metadata=dict(metadata or {}))
    except DataError as exc:
        field = exc.field or ""
        if field.startswith("messages["):
            index_text, _, rest = field[len("messages[") :].partition("]")
            field = origins[int(index_text)] + rest
        raise DataError(exc.message, field=field or None, hint=exc.hint) from exc
    except ValidationError as exc:
        raise data_error_from(exc, "") from exc


def require(row: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *, prefix: str = "") -> Any:
    """``row[key]``, checked to be of ``kind``; a :class:`DataError` naming the field otherwise."""
    field = f"{prefix}{key}"
    if key not in row:
        raise DataError("missing required field", field=field)
    value = row[key]
    if not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DataError(f"expected {expected}, got {type(value).__name__}: {value!r:.60}", field=field)
    return value


def decode_json(text: str, field: str) -> Any:
    """``json.loads(text)``, with a :class:`DataError` naming ``field`` when it is not JSON."""
    try:
        return strict_loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg} at column {exc.colno}): {text[:80]!r}", field=field) from exc
    except StrictJsonError as exc:
        raise DataError(f"not strict JSON: {exc}", field=field) from None
    except (ValueError, RecursionError) as exc:  # numbers past Python's digit limit, absurd nesting
        raise DataError(f"JSON beyond limits: {exc}"[:200], field=field) from exc
