"""What the commands share: their registration, exit codes, model arguments, progress bars."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from slmswap.models import DEFAULT_MODEL
from slmswap.train.manifest import is_trained, setup_for

__all__ = ["Command", "add_model_arguments", "count", "fail", "is_trained", "progress_bar", "setup_for"]

EXIT_OK, EXIT_CHECK, EXIT_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, arguments and what it runs."""

    name: str
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    def register(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add this command's parser to the ``slmswap`` subcommands."""
        parser = commands.add_parser(
            self.name,
            help=self.help,
            description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.arguments(parser)
        parser.set_defaults(handler=self.run)


def count(text: str) -> int:
    """An argparse type: a positive whole number."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def fail(message: str, code: int) -> int:
    """Print ``message`` on stderr and return ``code``."""
    print(f"slmswap: error: {message}", file=sys.stderr)
    return code


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` (a name, path, or training output directory) and ``--format``."""
    parser.add_argument(
        "--model",
        default=None,
        help=f"model name, path or hub id, or a slmswap training output directory (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--format",
        default=None,
        help="chat format (see: slmswap formats); default: a training output's own format, else hermes",
    )


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress display on stderr (a live bar on a terminal, plain lines otherwise); yields the
    ``(done, total)`` callback that advances it."""
    from slmswap._display import StepProgress

    with StepProgress(description) as display:

        def advance(done: int, total: int) -> None:
            display.update(done, total)

        yield advance
