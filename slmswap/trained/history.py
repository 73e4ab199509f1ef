"""The training history: one JSON line per logged step in the output directory's ``history.jsonl``.

Every time the trainer logs (the loss, learning rate and gradient norm every ``logging_steps``; the held-out task
metrics, ``eval_``-prefixed, every ``eval_steps``), :class:`slmswap.train.history.HistoryWriter` appends the
step, the epoch and the numbers logged. :func:`read_history` reads the file back for the report's training
curves. A line cut short by a crash is ignored (the next entry starts on a line of its own); a resumed run
appends, and the latest value logged at a step wins.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slmswap._files import append_lines

__all__ = ["HISTORY_FILE", "TrainingHistory", "append_history", "numbers", "read_history"]

HISTORY_FILE = "history.jsonl"
"""The history's file name in a training output directory."""

_POSITION = ("step", "epoch")


@dataclass(frozen=True)
class TrainingHistory:
    """What a training run logged, step by step."""

    entries: tuple[dict[str, float], ...]
    """One per log call, in the order written: ``step``, ``epoch`` and the numbers logged."""

    @property
    def names(self) -> list[str]:
        """Every quantity logged (``loss``, ``learning_rate``, ``eval_arguments_exact_match``, ...), in the order
        first seen."""
        return list(dict.fromkeys(key for entry in self.entries for key in entry if key not in _POSITION))

    @property
    def task_metrics(self) -> list[str]:
        """The held-out task metrics logged (their ``eval_`` names)."""
        return [name for name in self.names if name.startswith("eval_")]

    def series(self, name: str) -> list[tuple[int, float]]:
        """``(step, value)`` of ``name`` in step order; where a step was logged twice (a resumed run), the later
        value."""
        latest = {int(entry["step"]): entry[name] for entry in self.entries if name in entry}
        return sorted(latest.items())


def read_history(path: str | Path) -> TrainingHistory:
    """The history in ``path``: a ``history.jsonl`` file, or a training output directory holding one (a
    missing file is an empty history; lines that are not complete JSON objects are ignored)."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY_FILE
    if not path.is_file():
        return TrainingHistory(())
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # cut short by a crash
        if isinstance(entry, dict) and isinstance(entry.get("step"), (int, float)):
            entries.append(numbers(entry))
    return TrainingHistory(tuple(entries))


def append_history(path: str | Path, entry: dict[str, float]) -> None:
    """Append one entry (``step``, ``epoch`` and numbers) to the history in ``path``: a ``history.jsonl`` file or
    the training output directory holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY_FILE
    append_lines(path, [json.dumps(entry).encode("utf-8")])


def numbers(logs: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of ``logs`` (booleans, text and infinities left out), as floats."""
    return {
        key: float(value)
        for key, value in logs.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }
