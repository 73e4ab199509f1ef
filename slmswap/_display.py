"""Progress a person can read: one display per stage, live on a terminal (rich), plain lines in a log.

:class:`StepProgress` is a progress display for ``total`` steps with named fields (loss, learning rate, tokens
per second, ...) and an ETA. On a terminal it is a rich bar redrawn in place on stderr; when stderr is not a
terminal it prints a plain line at most every ``every`` seconds (and at the end), so a piped log shows where a
job is without a wall of carriage returns. :meth:`StepProgress.note` prints a line above the bar (a metric as it
is scored, a stage's summary).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

__all__ = ["StepProgress", "format_duration", "interactive"]


def interactive() -> bool:
    """Whether stderr is a terminal (live displays) rather than a file or pipe (plain lines)."""
    return sys.stderr.isatty()


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class StepProgress:
    """A progress display of ``total`` steps (``None``: not known yet) with named fields.

    Args:
        description: What is progressing (``"training"``, ``"evaluating base"``).
        total: Steps in all.
        fields: Names of the values shown after the count, in order (each shown once it has a value).
        live: Redraw in place (rich) instead of plain lines; default: whether stderr is a terminal.
        every: Plain mode: seconds between lines.
    """

    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        fields: tuple[str, ...] = (),
        live: bool | None = None,
        every: float = 15.0,
    ) -> None:
        self.description = description
        self.total = total
        self.fields = fields
        self.live = interactive() if live is None else live
        self.every = every
        self.done = 0
        self.values: dict[str, str] = {}
        self.started = time.perf_counter()
        self._printed = 0.0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> StepProgress:
        self.started = time.perf_counter()
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[values]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, values="")
        return self

    def update(self, done: int, total: int | None = None, values: Mapping[str, Any] | None = None) -> None:
        """``done`` steps of ``total`` (unchanged when not given), with new field values."""
        self.done = done
        if total is not None:
            self.total = total
        for name, value in (values or {}).items():
            self.values[name] = value if isinstance(value, str) else f"{value:.4g}"
        shown = "  ".join(f"{name} {self.values[name]}" for name in self.fields if name in self.values)
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=self.total, values=shown)
            return
        now = time.perf_counter()
        if now - self._printed >= self.every or (self.total is not None and done >= self.total):
            self._printed = now
            print(self._line(shown), file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        """Print ``text`` on a line of its own (above the live bar)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def _line(self, shown: str) -> str:
        elapsed = time.perf_counter() - self.started
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        eta = ""
        if self.total and 0 < self.done < self.total:
            eta = f"  eta {format_duration(elapsed / self.done * (self.total - self.done))}"
        return f"{self.description}: {count}  {shown}  {format_duration(elapsed)}{eta}".replace("    ", "  ")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
