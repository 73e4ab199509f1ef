"""The store's one writer: exchanges queue up, a single task commits whatever has gathered in one transaction
(group commit), and each request learns that its exchange is durable before its answer goes out.

While one transaction is being committed the next rows gather, so under load a commit carries many exchanges and
costs each little; a lone request waits for one commit. A commit that fails is retried (a SQLite lock held by
another gateway, a PostgreSQL failover) and, when it keeps failing, every request in it is told, so no client is
ever answered for an exchange that was not stored.

The commit itself runs in a worker thread, so the event loop never waits for the store (a disk's ``fsync``, a
WAL checkpoint, a PostgreSQL round trip) while it serves other requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from slmswap.data.traffic import EXCHANGES
from slmswap.errors import SlmswapError

__all__ = ["RecordError", "Recorder"]

_LOG = logging.getLogger("slmswap.gateway")
_MAX_BATCH = 1024
_ATTEMPTS = 5


class RecordError(SlmswapError):
    """An exchange could not be committed to the store (after retries)."""


_Item = tuple[Mapping[str, Any], "asyncio.Future[None] | None", bool]  # a row, who waits, whether it is an update


class Recorder:
    """Group-committing writer of exchange rows to one store engine; start it inside the running event loop."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._run())
        self.commits = 0
        self.rows = 0

    @property
    def alive(self) -> bool:
        """Whether the writer runs."""
        return not self._task.done()

    async def record(self, row: Mapping[str, Any]) -> None:
        """Queue ``row`` and return once it is committed; :class:`RecordError` when it could not be."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, future, False))
        await future

    def submit(self, row: Mapping[str, Any]) -> None:
        """Queue ``row`` without waiting (an exchange no client waits for, e.g. one cut short by the client)."""
        self._queue.put_nowait((row, None, False))

    def update(self, row_id: str, values: Mapping[str, Any]) -> None:
        """Queue an update of the row ``row_id``'s columns ``values`` without waiting (the side of a pair that
        came after the row was committed); it is committed after every row queued before it."""
        self._queue.put_nowait(({"id": row_id, **values}, None, True))

    async def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        self._queue.put_nowait(None)
        await self._task

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < _MAX_BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._commit(batch)
            if stopping:
                return

    async def _commit(self, batch: Sequence[_Item]) -> None:
        error = await self._attempt(batch)
        if error is not None and len(batch) > 1:  # one row the store refuses must not fail the others
            for item in batch:
                self._settle([item], await self._attempt([item]))
            return
        self._settle(batch, error)

    async def _attempt(self, rows: Sequence[_Item]) -> Exception | None:
        """Commit ``rows`` in one transaction, retrying what may pass later (a lock, a lost connection); the
        error that stopped it, or ``None``."""
        for attempt in range(_ATTEMPTS):
            try:
                await asyncio.to_thread(self._insert, rows)
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                _LOG.warning("committing %d exchange(s) failed (attempt %d): %s", len(rows), attempt + 1, exc)
                error: Exception = exc
                await asyncio.sleep(0.05 * 2**attempt)
            except sa.exc.SQLAlchemyError as exc:
                _LOG.error("the store refused %d exchange(s): %s", len(rows), exc)
                return exc
            else:
                self.commits += 1
                self.rows += sum(not update for _, _, update in rows)
                return None
        return error

    @staticmethod
    def _settle(batch: Sequence[_Item], error: Exception | None) -> None:
        for _, future, _update in batch:
            if future is None or future.done():  # no one waits, or the request was cancelled (its client left)
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(RecordError(f"the exchange could not be stored: {type(error).__name__}"))

    def _insert(self, items: Sequence[_Item]) -> None:
        # One executemany per set of columns: rows of different paths (an LLM's answer, the small model's, a
        # refusal) name different columns, and an executemany needs every row to name the same ones.
        inserted: dict[frozenset[str], list[Mapping[str, Any]]] = {}
        for row, _, update in items:
            if not update:
                inserted.setdefault(frozenset(row), []).append(row)
        with self._engine.begin() as connection:
            for rows in inserted.values():
                connection.execute(sa.insert(EXCHANGES), rows)
            for row, _, update in items:
                if update:
                    values = {key: value for key, value in row.items() if key != "id"}
                    connection.execute(sa.update(EXCHANGES).where(EXCHANGES.c.id == row["id"]).values(values))
