"""What a person sees while a model trains: one progress display with step, loss, learning rate, trained
tokens per second, the torch CPU threads in use and ETA; each change of the thread count and the task metrics
on their own lines. It replaces transformers' tqdm bar and the raw ``{'loss': ...}`` dictionaries it prints."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from slmswap._display import StepProgress
from slmswap._threads import ThreadChange, ThreadPolicy, active_policy

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

__all__ = ["TrainingProgress"]

_SHOWN = ("valid_output", "tool_name_match", "arguments_exact_match", "exact_match")
"""Task metrics named on the scoring line (the others are in the history)."""


class TrainingProgress(TrainerCallback):
    """A progress display (live on a terminal, plain lines otherwise) driven by the trainer's steps and logs.

    Args:
        live: Redraw in place; default: whether stderr is a terminal.
    """

    def __init__(self, *, live: bool | None = None) -> None:
        self.live = live
        self.display: StepProgress | None = None
        self.trainer: Any = None
        """Set by the facade: trained tokens are read from TRL's running count."""
        self._started = 0.0
        self._tokens_at_start = 0
        self._threads: ThreadPolicy | None = None

    def _thread_change(self, change: ThreadChange, previous: int | None) -> None:
        if self.display is not None:
            self.display.note(f"  {change.describe(previous)}")
            self.display.update(self.display.done, values={"threads": str(change.threads)})

    def _tokens(self) -> int:
        return int(getattr(self.trainer, "_total_train_tokens", 0) or 0)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Open the display (on the main process only, under torchrun / accelerate launch)."""
        if not state.is_world_process_zero:
            return control
        self.display = StepProgress(
            "training", state.max_steps, fields=("loss", "lr", "tokens/s", "threads"), live=self.live
        ).__enter__()
        self._threads = active_policy()
        if self._threads is not None:
            self._threads.listeners.append(self._thread_change)
            self.display.update(state.global_step, values={"threads": str(self._threads.threads)})
        self.display.update(state.global_step)
        self._started = time.perf_counter()
        self._tokens_at_start = self._tokens()
        return control

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Advance by one step, with the trained tokens per second so far."""
        if self.display is not None:
            seconds = time.perf_counter() - self._started
            rate = (self._tokens() - self._tokens_at_start) / seconds if seconds > 0 else 0.0
            self.display.update(state.global_step, values={"tokens/s": f"{rate:.0f}"})
        return control

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> TrainerControl:
        """Show the logged loss and learning rate; print task metrics on their own line."""
        if self.display is None or not logs:
            return control
        if "loss" in logs:
            shown = {"loss": f"{logs['loss']:.4f}", "lr": f"{logs.get('learning_rate', 0):.2e}"}
            self.display.update(state.global_step, values=shown)
        scored = [f"{name} {logs['eval_' + name]:.2f}" for name in _SHOWN if "eval_" + name in logs]
        if scored:
            self.display.note(f"  step {state.global_step}: held-out " + ", ".join(scored))
        return control

    def announce(self, text: str) -> None:
        """Print ``text`` above the bar (e.g. that the held-out slice is being scored)."""
        if self.display is not None:
            self.display.note(text)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Close the display."""
        if self._threads is not None:
            self._threads.listeners.remove(self._thread_change)
            self._threads = None
        if self.display is not None:
            self.display.__exit__(None, None, None)
            self.display = None
        return control
