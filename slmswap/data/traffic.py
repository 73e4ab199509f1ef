"""The traffic store: one row per exchange the gateway recorded, and reading it back as conversations.

A store is a SQLite file (the default, ``slmswap-traffic.db``; WAL journal, so readers never block the writer)
or a PostgreSQL database (``postgresql://user@host/db``) that several gateway replicas share; both hold the same
table, ``exchanges``, defined here once through SQLAlchemy Core. The gateway (:mod:`slmswap.gateway`) writes it;
this module opens it and reads it: :func:`load_traffic` gives the successful exchanges as
:class:`~slmswap.schema.Conversation`\\ s (the request's messages and tools, the hosted LLM's answer as the
assistant turn), so ``traffic:PATH`` is a data source like any file.

A row never holds the request's keys or headers other than those the gateway was told to record; message text
and argument strings are stored as redacted (the row's ``redactions`` counts which rules fired).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from slmswap.data._result import LoadResult, OnError, load_rows
from slmswap.data._source import Row
from slmswap.data.openai import openai_request, parse_openai_row
from slmswap.errors import ConfigError

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql
except ImportError:  # the base install: say which extra a traffic store needs, never a traceback
    raise ConfigError(
        "a traffic store needs the 'gateway' extra (SQLAlchemy): pip install 'slmswap[gateway]'"
    ) from None

__all__ = [
    "DEFAULT_STORE",
    "EXCHANGES",
    "SCHEMA_VERSION",
    "export_traffic",
    "load_traffic",
    "open_store",
    "read_exchanges",
    "store_name",
]

DEFAULT_STORE = "slmswap-traffic.db"
"""Where the gateway records when no store is named: a SQLite file in the working directory."""

SCHEMA_VERSION = 2
"""The version of the ``exchanges`` table; a store written by a newer slmswap is refused, not misread, and one
written by an older slmswap is upgraded when opened (version 1 to 2 adds the small model's nullable columns)."""

_BUSY_TIMEOUT_MS = 30_000  # another gateway on the same SQLite file holds the write lock at most this long


def store_url(store: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of a store named as a path or a database URL (``postgresql://`` uses psycopg)."""
    text = os.fspath(store)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        if not text.startswith(("postgresql+", "sqlite:")):
            raise ConfigError(f"{store_name(text)}: a store is a SQLite file path or a postgresql:// URL")
        return text
    return f"sqlite:///{Path(text).expanduser().absolute()}"


def store_name(store: str | os.PathLike[str]) -> str:
    """``store`` as messages may show it: a database URL's password is masked."""
    text = os.fspath(store)
    if "://" not in text or "@" not in text:
        return text
    scheme, rest = text.split("://", 1)
    credentials, _, where = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in credentials else ''}@{where}"


_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_METADATA = sa.MetaData()

EXCHANGES = sa.Table(
    "exchanges",
    _METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created", sa.Float, nullable=False, index=True),
    sa.Column("tag", sa.Text, index=True),
    sa.Column("route", sa.String(32), nullable=False),
    sa.Column("replica", sa.String(128), nullable=False),
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("model", sa.Text),
    sa.Column("messages", _JSON),
    sa.Column("tools", _JSON),
    sa.Column("tool_choice", _JSON),
    sa.Column("response_format", _JSON),
    sa.Column("params", _JSON, nullable=False),
    sa.Column("headers", _JSON, nullable=False),
    sa.Column("upstream_model", sa.Text),
    sa.Column("content", sa.Text),
    sa.Column("tool_calls", _JSON),
    sa.Column("finish_reason", sa.String(64)),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("total_tokens", sa.Integer),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("upstream_ms", sa.Float),
    sa.Column("total_ms", sa.Float, nullable=False),
    sa.Column("redactions", _JSON, nullable=False),
    # schema 2: the gateway's modes, and the small model's side of a paired exchange
    sa.Column("mode", sa.String(16)),
    sa.Column("answered_by", sa.String(16)),
    sa.Column("fallback_reason", sa.Text),
    sa.Column("llm_asked", sa.String(16)),
    sa.Column("slm_model", sa.Text),
    sa.Column("slm_content", sa.Text),
    sa.Column("slm_tool_calls", _JSON),
    sa.Column("slm_finish_reason", sa.String(64)),
    sa.Column("slm_prompt_tokens", sa.Integer),
    sa.Column("slm_completion_tokens", sa.Integer),
    sa.Column("slm_total_tokens", sa.Integer),
    sa.Column("slm_status", sa.Integer),
    sa.Column("slm_error", sa.Text),
    sa.Column("slm_ms", sa.Float),
)
"""The ``exchanges`` table (SQLAlchemy Core), the one schema of every store.

Columns: ``id`` (the gateway's exchange id, also sent to the client as ``X-Slmswap-Exchange``), ``created``
(Unix seconds), ``tag`` (``X-Slmswap-Tag``, else ``metadata.tag``, else ``user``), ``route`` (who answered:
``"upstream"`` when recording), ``replica`` (which gateway process wrote it), ``stream``; the request:
``model``, ``messages``, ``tools``, ``tool_choice``, ``response_format``, ``params`` (sampling parameters),
``headers`` (only those the gateway was told to record); the answer: ``upstream_model``, ``content``,
``tool_calls`` (parsed: object arguments), ``finish_reason``, ``prompt_tokens``, ``completion_tokens``,
``total_tokens``; ``status`` (the HTTP status the client got), ``error`` (``None`` for a usable answer),
``upstream_ms`` and ``total_ms``; ``redactions`` (rule name -> how often it fired).

Schema 2 adds, all nullable (``None`` in a row recorded before them): ``mode`` (the gateway's mode: ``record``,
``shadow``, ``canary``, ``slm``), ``answered_by`` (whose answer the client got: ``llm`` or ``slm``),
``fallback_reason`` (why the small model's answer was replaced by the LLM's), ``llm_asked`` (``always``: the LLM
was asked whatever the small model answered, as in record and shadow mode, for a caller outside the canary, and
with ``--hedge``; ``on_fallback``: only when the small model's answer was not valid, so such a row's pair was
chosen by its outcome and never enters the live agreement), and the small model's side as the
LLM's: ``slm_model``, ``slm_content``, ``slm_tool_calls``, ``slm_finish_reason``, ``slm_prompt_tokens``,
``slm_completion_tokens``, ``slm_total_tokens``, ``slm_status`` (its HTTP status), ``slm_error`` (why it gave no
usable answer: an error, a timeout, a malformed answer) and ``slm_ms``. When the client got the small model's
answer, the LLM's columns (``content``, ``tool_calls``, ...) hold the LLM's answer only where it was asked too
(a fallback, ``--hedge``); ``status`` is always the status the client got.
"""

_SCHEMA_2 = (
    "mode",
    "answered_by",
    "fallback_reason",
    "llm_asked",
    "slm_model",
    "slm_content",
    "slm_tool_calls",
    "slm_finish_reason",
    "slm_prompt_tokens",
    "slm_completion_tokens",
    "slm_total_tokens",
    "slm_status",
    "slm_error",
    "slm_ms",
)

_META = sa.Table(
    "slmswap_meta",
    _METADATA,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def open_store(
    store: str | os.PathLike[str], *, create: bool = False, sync: Literal["normal", "full"] = "normal"
) -> sa.Engine:
    """An engine on ``store``; ``create=True`` makes the file or the tables when missing (the gateway does),
    else a store that is not there is a :class:`~slmswap.errors.ConfigError`.

    SQLite runs in WAL mode and waits up to 30 s for another writer's lock. ``sync="normal"`` (the default): a
    committed exchange survives the gateway's crash (``kill -9``), and the file stays consistent whatever
    happens, but a power cut or an operating system crash may lose the last moments' commits; ``sync="full"``
    waits for the disk on every commit (``fsync``), so nothing committed is lost even then. PostgreSQL follows
    the server's own ``synchronous_commit`` setting (on by default: every commit reaches the disk).
    """
    url = store_url(store)
    is_sqlite = url.startswith("sqlite:")
    if is_sqlite and not create:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise ConfigError(f"{store_name(store)}: no such traffic store")
    engine = sa.create_engine(url, pool_pre_ping=not is_sqlite)
    if sync not in ("normal", "full"):
        raise ConfigError(f"sync must be 'normal' or 'full', got {sync!r}")
    if is_sqlite:

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={sync.upper()}")
            cursor.close()

    try:
        if create:
            _create(engine)
        with engine.connect() as connection:
            version = connection.execute(sa.select(_META.c.value).where(_META.c.key == "schema")).scalar()
        if version is not None and int(version) == 1:
            _upgrade_1_to_2(engine)
            version = "2"
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).strip().splitlines()[0]
        raise ConfigError(f"{store_name(store)}: cannot open the traffic store: {reason}") from None
    if version is None or int(version) > SCHEMA_VERSION:
        engine.dispose()
        raise ConfigError(
            f"{store_name(store)}: traffic store schema {version}, this slmswap reads {SCHEMA_VERSION} "
            "(upgrade slmswap)",
        )
    return engine


def _create(engine: sa.Engine) -> None:
    """Make the tables and record the schema version, where missing; two replicas starting together on one new
    PostgreSQL store may race: the loser finds the winner's tables on its second try."""
    for attempt in range(3):
        try:
            with engine.begin() as connection:
                _METADATA.create_all(connection, checkfirst=True)
                if connection.execute(sa.select(_META.c.value).where(_META.c.key == "schema")).first() is None:
                    connection.execute(sa.insert(_META).values(key="schema", value=str(SCHEMA_VERSION)))
            return
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):  # a concurrent CREATE TABLE or INSERT won
            if attempt == 2:
                raise


def _upgrade_1_to_2(engine: sa.Engine) -> None:
    """Add schema 2's nullable columns to a version 1 store, in one transaction (what it holds is untouched; a
    replica upgrading at the same time finds the columns there)."""
    with engine.begin() as connection:
        have = {column["name"] for column in sa.inspect(connection).get_columns("exchanges")}
        for name in _SCHEMA_2:
            if name not in have:
                column = EXCHANGES.c[name]
                kind = column.type.compile(dialect=connection.dialect)
                connection.execute(sa.text(f"ALTER TABLE exchanges ADD COLUMN {name} {kind}"))
        connection.execute(sa.update(_META).where(_META.c.key == "schema").values(value=str(SCHEMA_VERSION)))


def _since_seconds(since: datetime | float | str | None) -> float | None:
    if since is None:
        return None
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since)
        except ValueError:
            raise ConfigError(f"since: {since!r} is not an ISO 8601 date or time (e.g. 2026-05-01T12:00)") from None
    if isinstance(since, datetime):
        return (since if since.tzinfo else since.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(since, bool) or not math.isfinite(since):
        raise ConfigError(f"since: expected a time, got {since!r}")
    return float(since)


def read_exchanges(
    store: str | os.PathLike[str] | sa.Engine,
    *,
    since: datetime | float | str | None = None,
    tag: str | None = None,
    usable: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every exchange in ``store`` (a path, a URL or an engine) as a dict of its columns, oldest first.

    ``since`` keeps those recorded from then on; ``tag`` those with that caller tag; ``usable=True`` only the
    answered ones with the LLM's answer (HTTP 200, no error, and the LLM asked: a row the small model answered
    alone, in ``canary`` or ``slm`` mode, holds no LLM answer), the ones that are training data.
    """
    engine = store if isinstance(store, sa.Engine) else open_store(store)
    table = EXCHANGES
    query = sa.select(table).order_by(table.c.created, table.c.id)
    if (seconds := _since_seconds(since)) is not None:
        query = query.where(table.c.created >= seconds)
    if tag is not None:
        query = query.where(table.c.tag == tag)
    if usable:
        query = query.where(
            table.c.status == 200,
            table.c.error.is_(None),
            sa.or_(table.c.answered_by.is_(None), table.c.answered_by != "slm", table.c.upstream_ms.is_not(None)),
        )
    try:
        with engine.connect() as connection:
            for row in connection.execute(query):
                yield dict(row._mapping)
    finally:
        if engine is not store:
            engine.dispose()


def _openai_row(exchange: Mapping[str, Any]) -> dict[str, Any]:
    """An exchange as an OpenAI chat row: the request's messages, then the LLM's answer, and the tools."""
    answer: dict[str, Any] = {"role": "assistant", "content": exchange["content"] or None}
    if exchange["tool_calls"]:
        answer["tool_calls"] = exchange["tool_calls"]
    return {"id": exchange["id"], "messages": [*(exchange["messages"] or []), answer], "tools": exchange["tools"] or []}


def load_traffic(
    store: str | os.PathLike[str],
    *,
    since: datetime | float | str | None = None,
    tag: str | None = None,
    on_error: OnError = "raise",
) -> LoadResult:
    """The answered exchanges of a traffic store as conversations: the request's messages with the hosted LLM's
    answer as the final assistant turn, and the tools the request offered.

    Args:
        store: A SQLite file the gateway wrote, or a ``postgresql://`` URL.
        since: Only exchanges recorded from this time on (a ``datetime``, naive meaning UTC, Unix seconds, or
            ISO 8601 text).
        tag: Only exchanges with this caller tag.
        on_error: ``"raise"`` stops at an exchange that is not a valid conversation; ``"collect"`` keeps the
            others and lists it in ``LoadResult.errors`` (each error names the store and the exchange id).

    Failed exchanges (an upstream error, a malformed answer) are never returned: they are not training data.
    """
    name = store_name(store)
    rows = (
        Row(data=_openai_row(exchange), source=f"{name} exchange {exchange['id']}")
        for exchange in read_exchanges(store, since=since, tag=tag, usable=True)
    )
    return load_rows(rows, parse_openai_row, on_error=on_error)


def export_traffic(
    store: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    since: datetime | float | str | None = None,
    tag: str | None = None,
) -> int:
    """Write the answered exchanges of ``store`` as OpenAI chat JSONL (``messages`` with JSON-string arguments,
    ``tools``, ``id``), which :func:`~slmswap.data.load_openai` reads back; returns how many were written."""
    conversations = load_traffic(store, since=since, tag=tag)
    with Path(out).open("w", encoding="utf-8") as handle:
        for conversation in conversations:
            messages, tools = openai_request(conversation)
            row: dict[str, Any] = {"id": conversation.id, "messages": messages}
            if tools:
                row["tools"] = tools
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(conversations)
