"""``slmswap gateway``: the OpenAI-compatible front door that records a hosted LLM's live traffic."""

from __future__ import annotations

import argparse
import os

from slmswap.cli._common import EXIT_OK, Command
from slmswap.errors import ConfigError


def _rules(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of megabytes, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return value


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--upstream", required=True, metavar="URL", help="the hosted LLM's API base URL")
    parser.add_argument(
        "--store",
        default="slmswap-traffic.db",
        metavar="PATH_OR_URL",
        help="a SQLite file (made when missing) or a postgresql:// URL shared by replicas (default: %(default)s)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")
    keys = parser.add_argument_group("keys")
    keys.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="send the key in this variable upstream instead of the client's own (default: forward the client's)",
    )
    keys.add_argument("--api-version", help="Azure OpenAI's api-version (the upstream is then the resource endpoint)")
    keys.add_argument(
        "--gateway-key",
        metavar="KEY",
        help="clients must send this key (Authorization: Bearer, or api-key); prefer --gateway-key-env",
    )
    keys.add_argument("--gateway-key-env", metavar="VAR", help="as --gateway-key, read from this variable")
    privacy = parser.add_argument_group("what is stored")
    privacy.add_argument(
        "--redact",
        type=_rules,
        default=(),
        metavar="RULES",
        help="built-in rules applied to what is stored, comma-separated: email,phone,card,key",
    )
    privacy.add_argument(
        "--redact-regex",
        action="append",
        default=[],
        metavar="[NAME=]REGEX",
        help="a regular expression of your own to redact from what is stored (repeatable)",
    )
    privacy.add_argument(
        "--record-header",
        action="append",
        default=[],
        metavar="NAME",
        help="a request header to store with the exchange (repeatable; no other header is ever stored)",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-body-mb", type=_megabytes, default=16.0, help="largest request body, in MB (default: %(default)g)"
    )
    limits.add_argument(
        "--timeout", type=float, default=600.0, help="seconds the upstream may take (default: %(default)g)"
    )
    limits.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds a client may take to send a body (default: %(default)g)",
    )
    parser.add_argument(
        "--sync",
        choices=("normal", "full"),
        default="normal",
        help="a SQLite store's commits: normal survives the gateway's crash (kill -9), full also a power cut, "
        "waiting for the disk on every group commit (default: %(default)s)",
    )
    modes = parser.add_argument_group("the small model")
    modes.add_argument(
        "--slm", metavar="URL", help="the small model's API base URL (slmswap serve, or any OpenAI-compatible server)"
    )
    modes.add_argument(
        "--mode",
        choices=("record", "shadow", "canary", "slm"),
        default="record",
        help="record: the LLM only; shadow: the LLM answers, the small model answers the same request in the "
        "background and both answers are stored as a pair; canary: the small model answers a share of the callers "
        "(--fraction); slm: the small model answers every caller (default: %(default)s)",
    )
    modes.add_argument(
        "--fraction",
        type=float,
        metavar="P",
        help="canary: the share of callers (by a stable hash of their tag or user) the small model answers",
    )
    modes.add_argument(
        "--no-fallback",
        dest="fallback",
        action="store_false",
        help="canary and slm: pass on the small model's answer even when it is not valid (default: the LLM "
        "answers instead, and the reason is stored)",
    )
    modes.add_argument(
        "--hedge",
        action="store_true",
        help="canary and slm: ask the LLM at the same time as the small model, not only after a fallback (no "
        "wait on a fallback, every row a pair, the LLM paid for every request)",
    )
    modes.add_argument(
        "--slm-model", metavar="NAME", help="the model name sent to the small model (default: the client's)"
    )
    modes.add_argument(
        "--slm-timeout", type=float, default=30.0, help="seconds the small model may take (default: %(default)g)"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request line")


def _key(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"{what}: the environment variable {name} is not set")
    return value


def _gateway(args: argparse.Namespace) -> int:
    from slmswap.gateway import GatewayConfig, run_gateway

    if args.gateway_key and args.gateway_key_env:
        raise ConfigError("give --gateway-key or --gateway-key-env, not both")
    config = GatewayConfig(
        upstream=args.upstream,
        store=args.store,
        api_key=_key(args.api_key_env, "--api-key-env"),
        api_version=args.api_version,
        gateway_key=args.gateway_key or _key(args.gateway_key_env, "--gateway-key-env"),
        redact=args.redact,
        redact_regex=tuple(args.redact_regex),
        record_headers=tuple(args.record_header),
        max_body_mb=args.max_body_mb,
        timeout=args.timeout,
        body_timeout=args.body_timeout,
        sync=args.sync,
        slm=args.slm,
        mode=args.mode,
        slm_model=args.slm_model,
        slm_timeout=args.slm_timeout,
        fraction=args.fraction,
        fallback=args.fallback,
        hedge=args.hedge,
    )
    run_gateway(config, host=args.host, port=args.port, access_log=args.access_log)
    return EXIT_OK


GATEWAY = Command(
    "gateway",
    "an OpenAI-compatible gateway to a hosted LLM that records its live traffic (one row per exchange)",
    "Listen where the application's OpenAI client points (change only its base_url), pass every request to the "
    "upstream unchanged and every answer back unchanged, plain or streamed, and commit each exchange to the store "
    "before the client gets its answer. Read the store with: slmswap traffic STORE; train on it with the data "
    "source traffic:STORE. Ctrl-C stops the gateway (what is queued is committed first).",
    _arguments,
    _gateway,
)
