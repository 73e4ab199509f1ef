"""Task metrics during training: every N steps (and at the end), generate on a held-out slice with the same
format and template, and log the very metrics :func:`~slmswap.evaluate` scores (user metrics included) next to
the loss. Prompts and parsing are the evaluator's own (:func:`~slmswap.evaluation.eval_items`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from slmswap.errors import ConfigError
from slmswap.evaluation.generation import TransformersBackend
from slmswap.evaluation.prompts import answer_budget, eval_items
from slmswap.evaluation.runner import parse_generation, scored_example
from slmswap.formats.base import ChatFormat
from slmswap.metrics import Metric, default_metrics, metric_names
from slmswap.schema import Conversation

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, TrainerControl, TrainerState, TrainingArguments

__all__ = ["FiniteGuard", "TaskMetricsCallback", "check_metric_for_best"]


def check_metric_for_best(metric_for_best: str, metrics: Sequence[Metric] | None = None) -> None:
    """Refuse a ``metric_for_best`` that none of ``metrics`` (default: :func:`~slmswap.metrics.default_metrics`)
    scores, before any work starts."""
    names = metric_names(metrics)
    if metric_for_best not in names:
        raise ConfigError(f"metric_for_best {metric_for_best!r} is not one of the metrics scored: {', '.join(names)}")


class TaskMetricsCallback(TrainerCallback):
    """Scores the model on held-out conversations while it trains.

    Args:
        conversations: Held-out conversations; the last assistant turn of each is the reference.
        tokenizer: The tokenizer (its template renders the prompts as in training).
        fmt: The chat format being trained.
        every: Score every this many steps (``None``: only at the end).
        max_new_tokens: Longest answer generated (``None``: :func:`~slmswap.evaluation.prompts.answer_budget` of
            the slice).
        metric_for_best: The metric that marks the best checkpoint and drives early stopping (one of
            ``metrics``).
        patience: Stop after this many scorings without improvement (``None``: never stop early).
        best_dir: Where the best adapter/model is saved when it improves (``None``: not saved).
        metrics: What is scored (default: :func:`~slmswap.metrics.default_metrics`, as in ``evaluate``).
        at_end: Score the final model too (``False`` when the caller evaluates it right after: the same model
            is then not scored twice).
    """

    def __init__(
        self,
        conversations: Sequence[Conversation],
        tokenizer: PreTrainedTokenizerBase,
        fmt: ChatFormat,
        *,
        every: int | None = None,
        max_new_tokens: int | None = None,
        metric_for_best: str = "arguments_exact_match",
        patience: int | None = None,
        best_dir: Path | None = None,
        metrics: Sequence[Metric] | None = None,
        at_end: bool = True,
    ) -> None:
        self.at_end = at_end
        self.metrics = list(metrics) if metrics is not None else default_metrics()
        check_metric_for_best(metric_for_best, self.metrics)
        self.tokenizer = tokenizer
        self.fmt = fmt
        self.every = every
        self.metric_for_best = metric_for_best
        self.patience = patience
        self.best_dir = best_dir
        self.history: list[dict[str, float]] = []
        self.best: float | None = None
        self._stale = 0
        self._items, _ = eval_items(conversations, tokenizer, fmt)
        self.max_new_tokens = max_new_tokens or answer_budget(self._items, tokenizer, fmt)
        self.trainer: Any = None
        """Set by the facade: task metrics are logged through ``trainer.log`` (so every ``report_to`` sees them)."""
        self.announce: Callable[[str], None] | None = None
        """Set by the facade: told before each scoring starts (a progress display shows it)."""

    def score(self, model: Any, step: int) -> dict[str, float]:
        """Generate on the held-out slice and return the task metrics (``eval_``-prefixed, with the step)."""
        if self.announce is not None:
            self.announce(f"  step {step}: scoring {len(self._items)} held-out examples")
        was_training = model.training
        model.eval()
        generator = TransformersBackend(model, self.tokenizer, max_new_tokens=self.max_new_tokens)
        generations = generator.generate([item.prompt for item in self._items])
        if was_training:
            model.train()
        totals: dict[str, list[float]] = {m.name: [] for m in self.metrics}
        for item, generation in zip(self._items, generations, strict=True):
            example = scored_example(item, parse_generation(generation, self.fmt, item)[1])
            for metric in self.metrics:
                value = metric.score(example)
                if value is not None:
                    totals[metric.name].append(value)
        result = {f"eval_{name}": sum(v) / len(v) for name, v in totals.items() if v}
        result["step"] = float(step)
        self.history.append(result)
        return result

    def _evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model: Any) -> None:
        result = self.score(model, state.global_step)
        if self.trainer is not None:
            should_log = control.should_log
            self.trainer.log({k: v for k, v in result.items() if k != "step"})
            control.should_log = should_log  # trainer.log clears it: this step's loss must still be logged
        value = result.get(f"eval_{self.metric_for_best}")
        if value is None:
            return
        if self.best is None or value > self.best:
            self.best, self._stale = value, 0
            if self.best_dir is not None and state.is_world_process_zero:  # one writer under torchrun
                model.save_pretrained(self.best_dir)
        else:
            self._stale += 1
            if self.patience is not None and self._stale >= self.patience:
                control.should_training_stop = True

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Score every ``every`` steps."""
        final = state.global_step >= state.max_steps > 0
        if self.every and state.global_step % self.every == 0 and self._items and (self.at_end or not final):
            self._evaluate(args, state, control, kwargs["model"])
        return control

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Score once more at the end (unless the last step was just scored, or ``at_end`` is off)."""
        if not self.at_end:
            return control
        if self._items and (not self.history or self.history[-1]["step"] != state.global_step):
            self._evaluate(args, state, control, kwargs["model"])
        return control


class FiniteGuard(TrainerCallback):
    """Stops training at the first logged loss (or gradient norm) that is NaN or infinite, and refuses to let a
    model whose trained weights are not finite be saved (``check``)."""

    def __init__(self) -> None:
        self.diverged: str | None = None

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Stop at a non-finite loss or gradient norm."""
        logs = kwargs.get("logs") or {}
        for key in ("loss", "grad_norm"):
            value = logs.get(key)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                self.diverged = f"{key} {value} at step {state.global_step}"
                control.should_training_stop = True
        return control

    def check(self, model: Any, learning_rate: float) -> None:
        """Raise :class:`~slmswap.errors.ConfigError` when training diverged or a trained weight is not finite."""
        import torch

        problem = self.diverged
        if problem is None:
            for name, parameter in model.named_parameters():
                if parameter.requires_grad and not bool(torch.isfinite(parameter).all()):
                    problem = f"the trained weight {name} holds NaN or infinite values"
                    break
        if problem is not None:
            raise ConfigError(
                f"training diverged ({problem}); nothing was saved. Lower the learning rate "
                f"(it was {learning_rate:g}) or check the data"
            )
