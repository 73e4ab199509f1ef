"""The training history's writer: a callback appending each log call of a run to ``history.jsonl`` (read back by
:mod:`slmswap.trained.history`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from slmswap.trained.history import append_history, numbers

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

__all__ = ["HistoryWriter"]


class HistoryWriter(TrainerCallback):
    """Appends each log call of a training run to ``path`` (on the main process only).

    Args:
        path: The history file (``output_dir / HISTORY_FILE``).
        fresh: Start the file anew when training begins (``False`` when resuming: the run appends).
    """

    def __init__(self, path: Path, *, fresh: bool = True) -> None:
        self.path = path
        self.fresh = fresh

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Empty the file of an earlier run (unless resuming)."""
        if self.fresh and state.is_world_process_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")
        return control

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Append the step, the epoch and the numbers just logged."""
        logs = numbers(kwargs.get("logs") or {})
        if logs and state.is_world_process_zero:
            append_history(self.path, {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), **logs})
        return control
