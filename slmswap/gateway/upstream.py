"""The hosted LLM behind the gateway: where a request goes, with which key, through one pooled ``httpx`` client.

Keys follow :class:`~slmswap.evaluation.openai.OpenAIBackend`: by default the client's own ``Authorization`` (or
Azure's ``api-key``) goes to the upstream; with a key of the gateway's own (``--api-key-env``) that one is sent
instead, as ``Authorization: Bearer`` or, for Azure OpenAI (``api_version`` set, or a client calling Azure's
``/openai/deployments/NAME/...`` path), as ``api-key``, with the ``api-version`` query. Redirects are never
followed, so a key never leaves the configured host; every key the gateway sees is a secret scrubbed from rows,
logs and errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from slmswap.errors import ConfigError

__all__ = ["ClientPool", "Upstream"]

# Never forwarded: hop-by-hop headers, what httpx sets itself, the gateway's own headers.
_DROPPED = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "accept-encoding",
        "cookie",
        "x-slmswap-tag",
    }
)
_KEY_HEADERS = ("authorization", "api-key")


_SHARDS = 16
_PER_SHARD = 8


class ClientPool:
    """``httpx`` clients that share the upstream's connections between them, taken in turn.

    httpcore's connection pool looks at every one of its connections, for each of them, whenever a request
    starts or ends; a single pool of 64 busy connections spent most of the gateway's time there. Small pools
    taken in turn keep that cost flat as the number of clients grows.
    """

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._clients = clients
        self._turn = itertools.cycle(clients)

    def next(self) -> httpx.AsyncClient:
        """The client for the next request."""
        return next(self._turn)

    async def aclose(self) -> None:
        """Close every connection."""
        for client in self._clients:
            await client.aclose()


@dataclass(frozen=True)
class Upstream:
    """Where requests go and how they are authenticated.

    Args:
        base_url: The upstream's API base (``https://api.openai.com/v1``, ``http://127.0.0.1:8000/v1``; for Azure
            OpenAI the resource endpoint ``https://NAME.openai.azure.com``).
        api_key: The gateway's own key (``None``: the client's key is forwarded, unless ``client_keys`` is
            false).
        api_version: Azure OpenAI's ``api-version``.
        client_keys: Whether the client's ``Authorization`` / ``api-key`` may be forwarded (not when the client
            authenticates to the gateway with the gateway's key).
    """

    base_url: str
    api_key: str | None = None
    api_version: str | None = None
    client_keys: bool = True

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")) or not self.base_url.split("//", 1)[1].strip("/"):
            raise ConfigError(f"the upstream must be an http:// or https:// URL naming a host, got {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def clients(self, *, timeout: float, connect_timeout: float, connections: int) -> ClientPool:
        """The pooled clients requests share (redirects are not followed)."""
        shards = max(1, min(_SHARDS, connections // _PER_SHARD))
        limits = httpx.Limits(
            max_connections=-(-connections // shards), max_keepalive_connections=-(-connections // shards)
        )
        timeouts = httpx.Timeout(timeout, connect=connect_timeout, pool=timeout)
        tls = httpx.create_ssl_context()  # loading the certificates once, not once per client
        return ClientPool(
            [
                httpx.AsyncClient(timeout=timeouts, limits=limits, follow_redirects=False, verify=tls)
                for _ in range(shards)
            ]
        )

    def chat_url(self, model: object, deployment: str | None, query: Mapping[str, str]) -> str:
        """The upstream URL of a chat completion: ``deployment`` is the Azure path's deployment name when the
        client called that path; ``model`` the request's model (the deployment, in Azure mode)."""
        params = dict(query)
        if deployment is None and self.api_version is None:
            return self._url("/chat/completions", params)
        if self.api_version is not None:
            params.setdefault("api-version", self.api_version)
        name = deployment if deployment is not None else str(model)
        return self._url(f"/openai/deployments/{name}/chat/completions", params)

    def models_url(self, query: Mapping[str, str]) -> str:
        """The upstream URL of the model list."""
        return self._url("/models", dict(query))

    def _url(self, path: str, params: Mapping[str, str]) -> str:
        return f"{self.base_url}{path}{'?' + urlencode(params) if params else ''}"

    def headers(self, client_headers: Mapping[str, str], *, azure: bool) -> dict[str, str]:
        """The headers sent upstream: the client's (less hop-by-hop and gateway ones, and its key unless it may
        be forwarded), then the gateway's own key where it has one."""
        out = {
            name: value
            for name, value in client_headers.items()
            if name.lower() not in _DROPPED and not (name.lower() in _KEY_HEADERS and not self._forwards_client_key)
        }
        out["accept-encoding"] = "identity"  # the answer is passed on as it came, and recorded without decoding
        if self.api_key:
            if azure or self.api_version is not None:
                out["api-key"] = self.api_key
            else:
                out["authorization"] = f"Bearer {self.api_key}"
        return out

    @property
    def _forwards_client_key(self) -> bool:
        return self.client_keys and not self.api_key

    def secrets(self, client_headers: Mapping[str, str]) -> list[str]:
        """Every key in play for one request (the gateway's, the client's), longest first, for scrubbing."""
        found = [self.api_key] if self.api_key else []
        for name in _KEY_HEADERS:
            value = client_headers.get(name, "")
            token = value[7:] if value.lower().startswith("bearer ") else value
            if len(token.strip()) >= 4:
                found.append(token.strip())
        return sorted(set(found), key=len, reverse=True)
