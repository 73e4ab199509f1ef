"""The ``slmswap`` command line: list formats, inspect what gets trained, run the doctor, train from a YAML
job, evaluate, compare and report runs, export and serve a trained model, record a hosted LLM's traffic through
the gateway and read it back, curate traffic or logs into splits (and relabel them with a teacher), judge the
swap on live traffic, the end-to-end demo, and the format bake-off.

Exit codes: 0 success, 1 a check failed (the doctor found a failure, a required improvement is missing),
2 a usage or input error (bad arguments, missing or malformed files); messages go to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from pydantic import ValidationError

from slmswap._files import field_message
from slmswap._version import __version__
from slmswap.cli._bakeoff import BAKEOFF
from slmswap.cli._common import EXIT_CHECK, EXIT_INPUT, Parser, fail
from slmswap.cli._curate import COMMANDS as CURATION_COMMANDS
from slmswap.cli._demo import DEMO
from slmswap.cli._doctor import DOCTOR
from slmswap.cli._eval import COMMANDS as EVALUATION_COMMANDS
from slmswap.cli._gateway import GATEWAY
from slmswap.cli._inspect import FORMATS, INSPECT
from slmswap.cli._live import LIVE
from slmswap.cli._serve import EXPORT, SERVE
from slmswap.cli._traffic import TRAFFIC
from slmswap.cli._train import TRAIN
from slmswap.errors import CheckError, SlmswapError

__all__ = ["build_parser", "console_main", "main"]

_COMMANDS = (
    FORMATS,
    INSPECT,
    DOCTOR,
    TRAIN,
    *EVALUATION_COMMANDS,
    EXPORT,
    SERVE,
    GATEWAY,
    TRAFFIC,
    *CURATION_COMMANDS,
    LIVE,
    DEMO,
    BAKEOFF,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``slmswap`` argument parser, every subcommand included (the CLI reference is generated from it)."""
    parser = Parser(
        prog="slmswap",
        description="Replace a hosted LLM with a small fine-tuned model for tool calling and JSON output, "
        "and know it worked.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 usage or input error. Start with: slmswap demo",
    )
    parser.add_argument("--version", action="version", version=f"slmswap {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show what the libraries underneath print: their progress bars, log lines and deprecation notices",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=argparse.ArgumentParser
    )
    for command in _COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        _quiet_libraries()
    try:
        code: int = args.handler(args)
    except CheckError as exc:
        return fail(str(exc), EXIT_CHECK)
    except SlmswapError as exc:
        return fail(str(exc), EXIT_INPUT)
    except ValidationError as exc:  # an option the typed configuration refuses (e.g. a count of 0)
        return fail(field_message(exc), EXIT_INPUT)
    except (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        return fail(f"{exc.filename}: {exc.strerror}", EXIT_INPUT)
    except KeyboardInterrupt:
        return fail("interrupted (an evaluation resumes where it stopped when run again)", 130)
    return code


def _quiet_libraries() -> None:
    """Hide what transformers, TRL, PEFT, datasets and torch print on their own: weight-loading bars, info log
    lines and deprecation notices are nothing a user of the command can act on, and they bury where the command
    is (``--verbose`` shows them; Python API users still see them)."""
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category, module=r"(transformers|trl|peft|torch|accelerate)\.")
    # Read when the libraries are first imported; those already imported are told directly
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if "transformers" in sys.modules:
        from transformers.utils import logging

        logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()


def console_main() -> None:
    """Entry point of the ``slmswap`` console script."""
    sys.exit(main())
