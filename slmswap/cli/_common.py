"""What the commands share: their registration, exit codes, model arguments, progress bars."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from slmswap.models import DEFAULT_MODEL
from slmswap.trained.manifest import is_trained, setup_for

__all__ = [
    "Command",
    "Parser",
    "add_model_arguments",
    "count",
    "fail",
    "is_trained",
    "progress_bar",
    "setup_for",
    "suggest_option",
]

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


# What an argument that is not expected looks like -> the options that take such a thing, in order of preference.
_LOOKS_LIKE: tuple[tuple[Callable[[str], bool], tuple[str, ...]], ...] = (
    (lambda text: text.endswith((".yaml", ".yml")), ("--config",)),
    (lambda text: (Path(text) / "slmswap.json").is_file(), ("--output", "--model")),
    (lambda text: (Path(text) / "records.jsonl").is_file(), ("--run", "--baseline")),
    (lambda text: text.startswith("demo:") or text.endswith((".jsonl", ".json")), ("--data",)),
)


def suggest_option(parser: argparse.ArgumentParser, argument: str) -> str | None:
    """The option of ``parser`` that ``argument`` (given as a positional it does not take) looks like it is
    meant for: a YAML file for ``--config``, a training output for ``--output``, a run directory for ``--run``,
    a data file for ``--data``; ``None`` when nothing fits."""
    options = {option for action in parser._actions for option in action.option_strings}
    for looks_like, wanted in _LOOKS_LIKE:
        if looks_like(argument):
            return next((option for option in wanted if option in options), None)
    return None


class Parser(argparse.ArgumentParser):
    """An argument parser whose "unrecognized arguments" error says which option an argument looks meant for
    (``slmswap doctor job.yaml`` -> did you mean ``--config job.yaml``?)."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse ``args``; unrecognized arguments are an error naming the option each looks meant for."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser: argparse.ArgumentParser = self  # the subcommand's parser, whose options and usage apply
            for action in self._actions:
                if isinstance(action, argparse._SubParsersAction) and getattr(parsed, action.dest) in action.choices:
                    parser = action.choices[getattr(parsed, action.dest)]
            hints = [f"{option} {extra}" for extra in extras if (option := suggest_option(parser, extra)) is not None]
            hint = f" (did you mean: {parser.prog} {' '.join(hints)}?)" if hints else ""
            parser.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return parsed


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
    ``(done, total)`` callback that advances it. Within a CPU phase it shows the torch threads in use, and each
    change of the count on a line of its own."""
    from slmswap._display import StepProgress
    from slmswap._threads import ThreadChange, active_policy

    policy = active_policy()
    with StepProgress(description, fields=("threads",)) as display:

        def advance(done: int, total: int) -> None:
            display.update(done, total, values={"threads": str(policy.threads)} if policy is not None else None)

        def changed(change: ThreadChange, previous: int | None) -> None:
            display.note(f"  {change.describe(previous)}")
            display.update(display.done, values={"threads": str(change.threads)})

        if policy is not None:
            policy.listeners.append(changed)
        try:
            yield advance
        finally:
            if policy is not None:
                policy.listeners.remove(changed)
