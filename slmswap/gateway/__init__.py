"""The gateway: an OpenAI-compatible front door to a hosted LLM that records its live traffic, durably and safely.

An application changes only its ``base_url`` to the gateway's; every request goes to the upstream unchanged and
every answer comes back unchanged, while each exchange is committed to a store (SQLite, or PostgreSQL shared by
replicas) before its answer reaches the client. The store is read back with :func:`load_traffic` (or the data
source ``traffic:PATH``) as conversations to train and evaluate on.

:func:`create_app` gives the ASGI application, :func:`run_gateway` serves it; ``slmswap gateway`` is the
command. See the guide's "Capture your traffic" page.
"""

from __future__ import annotations

from slmswap.data.traffic import DEFAULT_STORE, export_traffic, load_traffic, read_exchanges
from slmswap.gateway.redaction import BUILTIN_RULES, RedactionRule, Redactor, parse_rules
from slmswap.gateway.server import (
    ANSWERED_BY_HEADER,
    EXCHANGE_HEADER,
    GatewayConfig,
    create_app,
    openai_error,
    run_gateway,
)

__all__ = [
    "ANSWERED_BY_HEADER",
    "BUILTIN_RULES",
    "DEFAULT_STORE",
    "EXCHANGE_HEADER",
    "GatewayConfig",
    "RedactionRule",
    "Redactor",
    "create_app",
    "export_traffic",
    "load_traffic",
    "openai_error",
    "parse_rules",
    "read_exchanges",
    "run_gateway",
]
