"""The training configuration: small-data defaults, with TRL and PEFT settings passed through."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slmswap._files import read_yaml_mapping, validate
from slmswap.templates.spans import TurnSelection
from slmswap.templates.tokenize import TokenizeOptions

__all__ = ["TrainConfig"]


class TrainConfig(BaseModel):
    """How to fine-tune. Every field has a default suited to a few hundred to a few thousand examples."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: Literal["lora", "qlora", "full"] = Field(
        default="lora",
        description="LoRA adapters (default), QLoRA (4-bit base model via bitsandbytes; needs CUDA and the 'qlora' "
        "extra) or a full fine-tune.",
    )
    output_dir: Path = Field(default=Path("slmswap-out"), description="Where checkpoints and the result go.")
    epochs: float = Field(
        default=3.0,
        gt=0,
        description="Passes over the training data (ignored if max_steps > 0: the trainer warns when both are given).",
    )
    max_steps: int = Field(
        default=-1, description="Stop after this many optimizer steps (overrides epochs); -1 to run the epochs."
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate (LoRA likes ~1e-4 to 3e-4).")
    batch_size: int = Field(default=8, gt=0, description="Examples per device per step.")
    micro_batch_size: int | None = Field(
        default=None,
        gt=0,
        description="Examples in one forward and backward pass: a batch runs as batch_size / micro_batch_size "
        "passes whose gradients add up to the same optimizer step (the loss is normalised over the whole batch, "
        "so the update is the same). None: 1 on CPU, where one sequence needs neither padding nor packing (on "
        "the demo: the same loss at every step, 1.4x faster and half the peak memory of a padding-free pass of "
        "4), the whole batch on a GPU. Must divide batch_size.",
    )
    gradient_accumulation_steps: int = Field(default=1, gt=0, description="Steps accumulated per update.")
    lora_r: int = Field(default=16, gt=0, description="LoRA rank.")
    lora_alpha: int = Field(default=32, gt=0, description="LoRA scaling numerator (alpha / r scales the update).")
    lora_dropout: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Dropout on the LoRA path. Off by default: on a few hundred examples trained for a few dozen "
        "steps it regularises nothing measurable, and it costs about 10 % of each adapted layer's time and a third "
        "of the activations kept for the backward pass (and makes a padded and a padding-free step differ).",
    )
    target_modules: str | list[str] = Field(
        default="all-linear", description="Modules that get adapters: 'all-linear' or explicit names."
    )
    max_length: int | None = Field(
        default=None,
        gt=0,
        description="Longest example in tokens; an example whose target would be cut is dropped and counted.",
    )
    turns: TurnSelection = Field(default="all", description="Train every assistant turn, or only the last.")
    train_tool_results: bool = Field(default=False, description="Also train tool-result turns.")
    padding_free: bool = Field(
        default=True,
        description="Pack a micro-batch of several examples into one row without padding (TRL's padding-free "
        "collation; a micro-batch of one needs neither). Exact (the same loss as padded rows) wherever the "
        "model's attention keeps packed sequences apart: transformers' SDPA and eager attention read the "
        "sequence boundaries from the position ids, flash attention from the sequence lengths TRL passes. Saves "
        "the 15-35 % of a random batch that is padding; set False for a model whose attention ignores position "
        "ids (some vision-language models).",
    )
    checkpoints: bool = Field(
        default=True,
        description="Save resumable checkpoints (model, optimizer and scheduler state) in output_dir every 500 "
        "steps and at the end; off when the final model is all a run should leave (the demo).",
    )
    threads: int | None = Field(
        default=None,
        gt=0,
        description="Torch CPU threads while training; None follows the cores other work leaves free, re-checked "
        "every half second of work (at most torch's own count; OMP_NUM_THREADS or a torch.set_num_threads count "
        "is kept). Ignored on a GPU unless set. More threads than free cores slow LoRA steps down.",
    )
    eval_steps: int | None = Field(
        default=None, gt=0, description="Generate on the held-out slice and log task metrics every N steps."
    )
    eval_at_end: bool = Field(
        default=True,
        description="Score the held-out slice once more when training ends. Turn off when the final model is "
        "evaluated right after anyway (the demo does): it would be scored twice.",
    )
    eval_examples: int = Field(default=32, gt=0, description="Size of the held-out slice scored during training.")
    eval_max_new_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Longest answer generated while scoring; None: the slice's longest reference answer plus a "
        "margin (slmswap.evaluation.prompts.answer_budget).",
    )
    metric_for_best: str = Field(
        default="arguments_exact_match", description="Task metric that picks the best checkpoint and stops early."
    )
    early_stopping_patience: int | None = Field(
        default=None, gt=0, description="Stop after this many task evaluations without improvement."
    )
    logging_steps: int = Field(default=10, gt=0, description="Log the loss every N steps.")
    report_to: list[str] = Field(default_factory=list, description="TRL/transformers integrations: tensorboard, wandb.")
    seed: int = Field(default=42, ge=0, le=2**32 - 1, description="Seed for data order, initialisation and sampling.")
    num_proc: int | None = Field(default=None, description="Processes for data preparation.")
    sft: dict[str, Any] = Field(default_factory=dict, description="Further trl.SFTConfig fields, passed as given.")
    peft: dict[str, Any] = Field(default_factory=dict, description="Further peft.LoraConfig fields, passed as given.")

    @model_validator(mode="after")
    def _micro_batches_fill_the_batch(self) -> TrainConfig:
        if self.micro_batch_size is not None and self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"micro_batch_size={self.micro_batch_size} does not divide batch_size={self.batch_size}: a batch "
                "must split into whole micro-batches"
            )
        return self

    def micro_batch(self, *, cuda: bool) -> int:
        """Examples per forward pass: ``micro_batch_size``, else 1 on CPU and the whole batch on a GPU."""
        return self.micro_batch_size or (self.batch_size if cuda else 1)

    def overridden(self) -> list[str]:
        """The settings given here that another setting overrides, one sentence each (the trainer warns with
        them): ``epochs`` under ``max_steps``, LoRA settings under ``method='full'``, early stopping without
        ``eval_steps``."""
        given = self.model_fields_set
        notes = []
        if self.max_steps > 0 and "epochs" in given:
            notes.append(
                f"epochs={self.epochs:g} is ignored: max_steps={self.max_steps} decides how long training runs "
                "(remove one of the two)"
            )
        lora = sorted(given & {"lora_r", "lora_alpha", "lora_dropout", "target_modules"})
        lora += ["peft"] if self.peft else []
        if self.method == "full" and lora:
            notes.append(f"{', '.join(lora)} ignored: method='full' trains every weight, without LoRA adapters")
        if self.early_stopping_patience is not None and self.eval_steps is None:
            notes.append(
                "early_stopping_patience is ignored without eval_steps: the held-out slice is scored only at the end"
            )
        return notes

    def tokenize_options(self) -> TokenizeOptions:
        """How the training data is tokenized under this configuration."""
        return TokenizeOptions(turns=self.turns, max_length=self.max_length, train_tool_results=self.train_tool_results)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Load from a YAML file; errors name the file and the field."""
        path = Path(path)
        return validate(cls, read_yaml_mapping(path, "TrainConfig fields"), path)
