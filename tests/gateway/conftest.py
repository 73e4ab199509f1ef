"""The gateway's test parts: the stand-in hosted LLM (a real HTTP server) and a gateway in front of it, both
served by uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from slmswap.gateway import GatewayConfig, create_app
from tests.gateway.standin import Received, serve_in_thread, standin


@dataclass
class Gateway:
    """A gateway in a thread: its base URL, its store, and what its upstream received."""

    url: str
    store: Path
    upstream: str
    received: Received

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def upstream() -> Iterator[tuple[str, Received]]:
    with standin() as found:
        yield found


GatewayFactory = Callable[..., AbstractContextManager[Gateway]]


@pytest.fixture
def make_gateway(tmp_path: Path, upstream: tuple[str, Received]) -> GatewayFactory:
    """Start a gateway on the stand-in with the given :class:`GatewayConfig` fields."""

    @contextmanager
    def start(**options: Any) -> Iterator[Gateway]:
        base, received = upstream
        store = Path(options.pop("store", tmp_path / "traffic.db"))
        config = GatewayConfig(upstream=options.pop("upstream", base), store=str(store), **options)
        with serve_in_thread(create_app(config)) as url:
            yield Gateway(url, store, base, received)

    return start


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> Iterator[Gateway]:
    with make_gateway() as running:
        yield running


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a text up.",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        },
    }
]
