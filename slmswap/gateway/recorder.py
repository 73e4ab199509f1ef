"""The store's one writer: exchanges queue up, a single thread commits whatever has gathered in one transaction
(group commit), and each request learns that its exchange is durable before its answer goes out.

While one transaction is being committed the next rows gather, so under load a commit carries many exchanges and
costs each little; a lone request waits for one commit. A commit that fails is retried (a SQLite lock held by
another gateway, a PostgreSQL failover) and, when it keeps failing, every request in it is told, so no client is
ever answered for an exchange that was not stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slmswap.data.traffic import EXCHANGES
from slmswap.errors import SlmswapError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["RecordError", "Recorder"]

_LOG = logging.getLogger("slmswap.gateway")
_MAX_BATCH = 1024
_ATTEMPTS = 5


class RecordError(SlmswapError):
    """An exchange could not be committed to the store (after retries)."""


_Item = tuple[Mapping[str, Any], "asyncio.Future[None] | None", "asyncio.AbstractEventLoop | None"]


class Recorder:
    """Group-committing writer of exchange rows to one store engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="slmswap-gateway-writer", daemon=True)
        self.commits = 0
        self.rows = 0
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the writer thread runs."""
        return self._thread.is_alive()

    async def record(self, row: Mapping[str, Any]) -> None:
        """Queue ``row`` and return once it is committed; :class:`RecordError` when it could not be."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((row, future, loop))
        await future

    def submit(self, row: Mapping[str, Any]) -> None:
        """Queue ``row`` without waiting (an exchange no client waits for, e.g. one cut short by the client)."""
        self._queue.put((row, None, None))

    def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: Sequence[_Item]) -> None:
        import sqlalchemy as sa

        rows = [row for row, _, _ in batch]
        error: Exception | None = None
        for attempt in range(_ATTEMPTS):
            try:
                with self._engine.begin() as connection:
                    connection.execute(sa.insert(EXCHANGES), rows)
                error = None
                break
            except sa.exc.SQLAlchemyError as exc:
                error = exc
                _LOG.warning("committing %d exchange(s) failed (attempt %d): %s", len(rows), attempt + 1, exc)
                time.sleep(0.05 * 2**attempt)
        if error is None:
            self.commits += 1
            self.rows += len(rows)
        waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, future, loop in batch:
            if future is not None and loop is not None:
                waiting.setdefault(loop, []).append(future)
        for loop, futures in waiting.items():
            loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: Sequence[asyncio.Future[None]], error: Exception | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled (its client left) while its row was committed
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(RecordError(f"the exchange could not be stored: {type(error).__name__}"))
