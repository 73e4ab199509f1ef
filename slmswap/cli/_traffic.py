"""``slmswap traffic STORE`` (what the gateway recorded, in numbers) and ``slmswap traffic export STORE OUT``
(the answered exchanges as OpenAI chat JSONL)."""

from __future__ import annotations

import argparse

from slmswap.cli._common import EXIT_OK, Command
from slmswap.errors import ConfigError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "slmswap traffic [export] STORE [OUT.jsonl] [--since TIME] [--tag TAG]"
    parser.add_argument(
        "words",
        nargs="+",
        metavar="[export] STORE [OUT.jsonl]",
        help="STORE: a SQLite file the gateway wrote or a postgresql:// URL; 'export STORE OUT.jsonl' writes "
        "the answered exchanges as OpenAI chat rows (load_openai and every slmswap command read them)",
    )
    parser.add_argument("--since", metavar="TIME", help="only exchanges from this ISO 8601 time on (UTC if no zone)")
    parser.add_argument("--tag", help="only exchanges with this caller tag")


def _traffic(args: argparse.Namespace) -> int:
    from slmswap.data.traffic import export_traffic, store_name
    from slmswap.gateway.summary import summarize

    words: list[str] = args.words
    if words[0] == "export":
        if len(words) != 3:
            raise ConfigError("traffic export takes a STORE and an OUT.jsonl")
        written = export_traffic(words[1], words[2], since=args.since, tag=args.tag)
        print(f"wrote {written} conversations from {store_name(words[1])} to {words[2]}")
        return EXIT_OK
    if len(words) != 1:
        raise ConfigError("traffic takes one STORE (or: export STORE OUT.jsonl)")
    print(summarize(words[0], since=args.since, tag=args.tag).render())
    return EXIT_OK


TRAFFIC = Command(
    "traffic",
    "summarize a traffic store the gateway wrote, or export it as OpenAI chat JSONL",
    "slmswap traffic STORE prints requests per model and per tool called, errors, latency p50/p95, tokens and "
    "redactions. slmswap traffic export STORE OUT.jsonl writes the answered exchanges (the request's messages "
    "with the hosted LLM's answer as the last assistant turn, and the tools) as OpenAI chat rows. To train or "
    "evaluate on a store directly, name it as data: traffic:STORE.",
    _arguments,
    _traffic,
)
