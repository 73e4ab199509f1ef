"""``slmswap live``: the live verdict on paired traffic (agreement with confidence sequences, cut over or not)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from slmswap._files import write_atomically
from slmswap.cli._common import EXIT_OK, Command
from slmswap.errors import ConfigError
from slmswap.live import DEFAULT_BAR, LIVE_METRICS, Bar, live_html, live_verdict, parse_bar, parse_time


def _bar(text: str) -> Bar:
    try:
        return parse_bar(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-12-02T10:00:00Z or 2026-12-02)"
        ) from None


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="the gateway's traffic store (a SQLite file or a postgresql:// URL) or a JSON-lines file of paired "
        "exchanges",
    )
    parser.add_argument(
        "--bar",
        type=_bar,
        metavar="METRIC>=VALUE",
        default=parse_bar(DEFAULT_BAR),
        help=f"what the small model must reach, METRIC>=VALUE, METRIC one of {', '.join(LIVE_METRICS)} "
        f"(default: {DEFAULT_BAR})",
    )
    parser.add_argument(
        "--since",
        type=_time,
        default=None,
        metavar="TIME",
        help="only requests at or after this ISO 8601 time (UTC without a zone)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="also write the report into DIR: live.md (Markdown) and live.html (a page with a chart of each "
        "agreement figure over the requests, inside its confidence sequence)",
    )


def _run(args: argparse.Namespace) -> int:
    report = live_verdict(args.source, bar=args.bar, since=args.since)
    text = report.to_markdown()
    print(text, end="")
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"{out}: --out names a directory (live.md and live.html go into it), and this is a file")
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(out / "live.md", text)
        write_atomically(out / "live.html", live_html(report))
        print(f"wrote {out / 'live.md'} and {out / 'live.html'}")
    return EXIT_OK


LIVE = Command(
    "live",
    "the live verdict: how often the small model agrees with the LLM on paired traffic, and whether to cut over",
    "Score each paired request (the LLM's answer is the reference) on valid_call, tool_name_match, "
    "arguments_exact_match and abstention, overall and per tool, each with an anytime-valid 95 % confidence "
    "sequence (Waudby-Smith and Ramdas's betting sequences: valid however often it is checked), then give one "
    "verdict against --bar: 'cut over' (the lower bound reached the bar), 'stop' (the upper bound came down to it) "
    "or 'not yet' (with an estimate of the requests still needed at the current rate). Also each model's "
    "latency (p50, p95) and tokens, and the fallbacks with their reasons. The exit code is 0 whatever the "
    "verdict.",
    _arguments,
    _run,
)
