"""Reading raw rows from a JSON / JSON-lines file, an iterable of dicts, or a ``datasets.Dataset``.

Every row comes out with where it came from (file and line, or index) so that errors can name it. Rows that
cannot be read at all (a malformed JSON line, bytes that are not UTF-8, a line that is not an object) come out
as :class:`~slmswap.errors.DataError` values in the same stream, so a caller may stop or collect them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from slmswap._json import StrictJsonError, strict_loads
from slmswap.errors import DataError

__all__ = ["Row", "RowSource", "bytes_rows", "iter_rows"]

RowSource: TypeAlias = "str | os.PathLike[str] | Iterable[Mapping[str, Any]]"
"""A path to a ``.json`` / ``.jsonl`` file, an iterable of dicts, or a ``datasets.Dataset``."""

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Row:
    """One raw row and where it came from."""

    data: Mapping[str, Any]
    source: str
    line: int | None = None
    index: int | None = None

    def error(self, error: DataError) -> DataError:
        """``error`` located at this row."""
        return error.located(source=self.source, line=self.line, index=self.index)


def iter_rows(source: RowSource) -> Iterator[Row | DataError]:
    """Yield every row of ``source``, or a located :class:`DataError` for a row that cannot be read."""
    if isinstance(source, (str, os.PathLike)):
        yield from _file_rows(Path(source))
        return
    name = "<dataset>" if type(source).__module__.startswith("datasets") else "<iterable>"
    # Iterables from user code are typed loosely in practice: check each row.
    rows: Iterable[object] = source
    for index, data in enumerate(rows):
        if isinstance(data, Mapping):
            yield Row(data=data, source=name, index=index)
        else:
            yield DataError(
                f"row is a {type(data).__name__}, not an object",
                source=name,
                index=index,
                hint="each row must be a dict",
            )


def _file_rows(path: Path) -> Iterator[Row | DataError]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", source=str(path)) from exc
    yield from bytes_rows(raw, str(path))


def bytes_rows(raw: bytes, source: str) -> Iterator[Row | DataError]:
    """Rows of a JSON array or JSON-lines document held in memory; ``source`` names it in errors."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if not raw.strip():
        yield DataError("file is empty", source=source, hint="give a JSON array or one JSON object per line")
        return
    if raw.lstrip()[:1] == b"[":
        yield from _array_rows(raw, source)
    else:
        yield from _line_rows(raw, source)


def _array_rows(raw: bytes, source: str) -> Iterator[Row | DataError]:
    try:
        rows = strict_loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield DataError(f"file is not UTF-8 (byte {exc.start})", source=source, hint="re-encode it as UTF-8")
        return
    except json.JSONDecodeError as exc:
        yield DataError(
            f"malformed JSON: {exc.msg} (column {exc.colno})",
            source=source,
            line=exc.lineno,
            hint="fix the JSON syntax; a JSON-lines file must not start with '['",
        )
        return
    except StrictJsonError as exc:
        yield DataError(str(exc), source=source, field=exc.path or None, hint="write strict JSON")
        return
    except (ValueError, RecursionError) as exc:  # numbers past Python's digit limit, absurd nesting
        yield DataError(f"JSON beyond limits: {exc}"[:200], source=source)
        return
    for index, data in enumerate(rows):
        if isinstance(data, dict):
            yield Row(data=data, source=source, index=index)
        else:
            yield DataError(f"row is a {type(data).__name__}, not an object", source=source, index=index)


def _line_rows(raw: bytes, source: str) -> Iterator[Row | DataError]:
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            data = strict_loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield DataError(
                f"line is not UTF-8 (byte {exc.start} of the line)",
                source=source,
                line=number,
                hint="re-encode the file as UTF-8",
            )
            continue
        except json.JSONDecodeError as exc:
            yield DataError(
                f"malformed JSON: {exc.msg} (column {exc.colno})",
                source=source,
                line=number,
                hint="each line must hold one complete JSON object (is the file truncated?)",
            )
            continue
        except StrictJsonError as exc:
            yield DataError(str(exc), source=source, line=number, field=exc.path or None, hint="write strict JSON")
            continue
        except (ValueError, RecursionError) as exc:  # numbers past Python's digit limit, absurd nesting
            yield DataError(f"JSON beyond limits: {exc}"[:200], source=source, line=number)
            continue
        if isinstance(data, dict):
            yield Row(data=data, source=source, line=number)
        else:
            yield DataError(
                f"line holds a JSON {type(data).__name__}, not an object",
                source=source,
                line=number,
                hint="each line must hold one JSON object",
            )
