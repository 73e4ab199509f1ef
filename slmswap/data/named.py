"""Data named as a job file or the command line names it: a path to a file of any supported shape, a split
of the bundled demo dataset (``demo:train``, ``demo:test``), or a traffic store the gateway recorded
(``traffic:slmswap-traffic.db``, ``traffic:postgresql://host/db``, or a path ending in ``.db``)."""

from __future__ import annotations

from pathlib import Path
from typing import cast, get_args

from slmswap.data import load_conversations
from slmswap.data.demo import DemoSplit, load_demo_dataset
from slmswap.errors import ConfigError
from slmswap.schema import Conversation

__all__ = ["DEMO_PREFIX", "TRAFFIC_PREFIX", "load_data"]

DEMO_PREFIX = "demo:"
"""Data sources starting with this name a split of the bundled demo dataset (``demo:train``, ``demo:test``)."""

TRAFFIC_PREFIX = "traffic:"
"""Data sources starting with this name a traffic store the gateway wrote: its answered exchanges."""

_STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def load_data(source: str | Path, *, base: Path | None = None) -> list[Conversation]:
    """Conversations from a data file of any supported shape, a bundled demo split (``demo:train``), or a
    traffic store (``traffic:PATH_OR_URL``, or a SQLite file ending in ``.db``, ``.sqlite``, ``.sqlite3``).

    A relative path is read from ``base`` when given.
    """
    text = str(source)
    if text.startswith(TRAFFIC_PREFIX) or text.endswith(_STORE_SUFFIXES):
        return _traffic(text.removeprefix(TRAFFIC_PREFIX), base)
    if text.startswith(DEMO_PREFIX):
        split = text[len(DEMO_PREFIX) :]
        if split not in get_args(DemoSplit):
            raise ConfigError(f"{text!r}: the demo dataset has the splits 'demo:train' and 'demo:test'")
        return load_demo_dataset(cast(DemoSplit, split))
    path = Path(source)
    if base is not None and not path.is_absolute():
        path = base / path
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a data file (name a JSON or JSON-lines file)")
    if not path.is_file():
        raise ConfigError(f"{path}: no such data file")
    return list(load_conversations(path))


def _traffic(store: str, base: Path | None) -> list[Conversation]:
    try:
        from slmswap.data.traffic import load_traffic
    except ImportError:
        raise ConfigError(
            f"{store}: reading a traffic store needs the gateway extra: pip install 'slmswap[gateway]'"
        ) from None
    if "://" not in store and base is not None and not Path(store).is_absolute():
        store = str(base / store)
    return list(load_traffic(store))
