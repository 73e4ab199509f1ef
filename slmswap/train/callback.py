"""Task metrics during training: every N steps (and at the end), generate on a held-out slice with the same
format and template, and log valid output, tool-name match and argument exact match next to the loss."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from slmswap.evaluate.generation import Prompt, TransformersGenerator
from slmswap.formats.base import ChatFormat
from slmswap.metrics import ArgumentF1, ArgumentsExactMatch, ScoredExample, ToolNameMatch, ValidOutput
from slmswap.schema import Conversation, Message

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, TrainerControl, TrainerState, TrainingArguments

__all__ = ["TaskMetricsCallback"]

_METRICS = (ValidOutput(), ToolNameMatch(), ArgumentsExactMatch(), ArgumentF1())


class TaskMetricsCallback(TrainerCallback):
    """Scores the model on held-out conversations while it trains.

    Args:
        conversations: Held-out conversations; the last assistant turn of each is the reference.
        tokenizer: The tokenizer (its template renders the prompts as in training).
        fmt: The chat format being trained.
        every: Score every this many steps (``None``: only at the end).
        max_new_tokens: Longest answer generated.
        metric_for_best: The metric that marks the best checkpoint and drives early stopping.
        patience: Stop after this many scorings without improvement (``None``: never stop early).
        best_dir: Where the best adapter/model is saved when it improves (``None``: not saved).
    """

    def __init__(
        self,
        conversations: Sequence[Conversation],
        tokenizer: PreTrainedTokenizerBase,
        fmt: ChatFormat,
        *,
        every: int | None = None,
        max_new_tokens: int = 128,
        metric_for_best: str = "arguments_exact_match",
        patience: int | None = None,
        best_dir: Path | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.fmt = fmt
        self.every = every
        self.max_new_tokens = max_new_tokens
        self.metric_for_best = metric_for_best
        self.patience = patience
        self.best_dir = best_dir
        self.history: list[dict[str, float]] = []
        self.best: float | None = None
        self._stale = 0
        self._items: list[tuple[Prompt, Conversation, Message]] = []
        for conversation in conversations:
            positions = conversation.assistant_indices()
            if not positions:
                continue
            prompt = Conversation(messages=conversation.messages[: positions[-1]], tools=conversation.tools)
            text = fmt.render(tokenizer, prompt, add_generation_prompt=True)
            self._items.append(
                (Prompt(text, fmt.chat_input(prompt)), conversation, conversation.messages[positions[-1]])
            )
        self.trainer: Any = None
        """Set by the facade: task metrics are logged through ``trainer.log`` (so every ``report_to`` sees them)."""

    def score(self, model: Any, step: int) -> dict[str, float]:
        """Generate on the held-out slice and return the task metrics (``eval_``-prefixed, with the step)."""
        was_training = model.training
        model.eval()
        generator = TransformersGenerator(model, self.tokenizer, batch_size=16, max_new_tokens=self.max_new_tokens)
        generations = generator.generate([item[0] for item in self._items])
        if was_training:
            model.train()
        totals: dict[str, list[float]] = {m.name: [] for m in _METRICS}
        for (_, conversation, reference), generation in zip(self._items, generations, strict=True):
            parsed = self.fmt.parse(generation.text, tools=conversation.tools)
            example = ScoredExample(reference=reference, prediction=parsed, tools=conversation.tools)
            for metric in _METRICS:
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
            self.trainer.log({k: v for k, v in result.items() if k != "step"})
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
        if self.every and state.global_step % self.every == 0 and self._items:
            self._evaluate(args, state, control, kwargs["model"])
        return control

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Score once more at the end (unless the last step was just scored)."""
        if self._items and (not self.history or self.history[-1]["step"] != state.global_step):
            self._evaluate(args, state, control, kwargs["model"])
        return control
