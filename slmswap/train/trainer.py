"""The ``Trainer`` facade over TRL's ``SFTTrainer``: data prepared by slmswap's template engine (labels
included, so TRL's template patching is never needed), LoRA/QLoRA/full fine-tuning, task metrics while
training, and an output directory whose manifest carries the format."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap._threads import cpu_phase
from slmswap.errors import ConfigError, DataError, ModelError
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import resolve_format, tool_call_hint
from slmswap.metrics import Metric, default_metrics
from slmswap.models import DEFAULT_MODEL, load_model, load_tokenizer
from slmswap.schema import Conversation
from slmswap.templates import PreparationStats, prepare_dataset
from slmswap.train.callback import FiniteGuard, TaskMetricsCallback, check_metric_for_best
from slmswap.train.config import TrainConfig
from slmswap.train.head import install_labelled_head
from slmswap.train.history import HistoryWriter
from slmswap.train.progress import TrainingProgress
from slmswap.train.targets import check_module_names
from slmswap.trained.history import HISTORY_FILE
from slmswap.trained.manifest import Manifest

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

__all__ = ["Trainer", "TrainingOutcome"]


class TrainingOutcome:
    """What a training run produced."""

    def __init__(self, output_dir: Path, manifest: Manifest, history: list[dict[str, float]]) -> None:
        self.output_dir = output_dir
        self.manifest = manifest
        self.history = history
        """Task metrics logged by the callback, one entry per scoring."""


class Trainer:
    """Fine-tune a model on conversations in a chat format.

    Args:
        train: Training conversations.
        eval: Held-out conversations, scored with task metrics during training.
        model: A model name (default: the embedded SmolLM2-135M-Instruct), path, hub id, or a loaded model.
        tokenizer: Its tokenizer (loaded from ``model`` when it is a name).
        format: A format name or instance (``"native"`` gets the tokenizer).
        config: The :class:`TrainConfig`.
        metrics: What the held-out slice is scored with while training (default: the metrics
            :func:`~slmswap.evaluate` scores); ``config.metric_for_best`` must be one of them.

    Everything that can be checked before work starts is checked in the constructor: empty data, a format that
    cannot write the data (every example dropped), a model whose vocabulary is smaller than the tokenizer's,
    QLoRA without CUDA, module names in ``target_modules`` (and the other PEFT settings that name modules) that
    name no module of the model.
    """

    def __init__(
        self,
        train: Sequence[Conversation],
        eval: Sequence[Conversation] = (),
        *,
        model: str | PreTrainedModel = DEFAULT_MODEL,
        tokenizer: PreTrainedTokenizerBase | None = None,
        format: str | ChatFormat = "hermes",
        config: TrainConfig | None = None,
        metrics: Sequence[Metric] | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        output = self.config.output_dir
        if output.exists() and not output.is_dir():
            raise ConfigError(f"{output}: exists and is not a directory; output_dir must name a directory")
        _check_passthrough(self.config)
        self.metrics = list(metrics) if metrics is not None else default_metrics()
        check_metric_for_best(self.config.metric_for_best, self.metrics)
        if not train:
            raise DataError("no training conversations", hint="pass at least one conversation with an assistant turn")
        if self.config.method == "qlora":
            _require_cuda()
        self.base_model = model if isinstance(model, str) else str(getattr(model.config, "_name_or_path", "model"))
        if tokenizer is None:
            if not isinstance(model, str):
                raise ConfigError("pass the tokenizer along with a loaded model")
            tokenizer = load_tokenizer(model)
        self.tokenizer = tokenizer
        self.format = resolve_format(format, tokenizer=tokenizer)
        options = self.config.tokenize_options()
        self.prepared = prepare_dataset(train, tokenizer, self.format, options, num_proc=self.config.num_proc)
        _require_kept(self.prepared.stats, "training")
        self.eval_conversations = list(eval)[: self.config.eval_examples]
        ignored = self.config.overridden()
        if self.config.eval_steps is not None and not self.eval_conversations:
            ignored.append(f"eval_steps={self.config.eval_steps} is ignored: no held-out conversations were given")
        for note in ignored:
            warnings.warn(note, UserWarning, stacklevel=2)
        self.model = self._load(model)
        check_module_names(self.model, self.config)  # before PEFT wraps it: a name matching nothing, said by key
        vocabulary = self.model.get_input_embeddings().num_embeddings
        if vocabulary < len(tokenizer):
            raise ModelError(
                f"the model's vocabulary ({vocabulary}) is smaller than the tokenizer's ({len(tokenizer)}): this is "
                "not the tokenizer the model was trained with (or added tokens need model.resize_token_embeddings)"
            )

    def _load(self, model: str | PreTrainedModel) -> Any:
        if not isinstance(model, str):
            return model
        if self.config.method == "qlora":
            import torch
            from transformers import BitsAndBytesConfig

            quantization = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
            )
            return load_model(model, quantization_config=quantization)
        return load_model(model)

    def _peft_config(self) -> Any:
        if self.config.method == "full":
            return None
        from peft import LoraConfig

        settings: dict[str, Any] = {
            "task_type": "CAUSAL_LM",
            "r": self.config.lora_r,
            "lora_alpha": self.config.lora_alpha,
            "lora_dropout": self.config.lora_dropout,
            "target_modules": self.config.target_modules,
        }
        return LoraConfig(**_passed_through(settings, self.config.peft, "peft"))

    def _sft_config(self) -> Any:
        import torch
        from trl.trainer.sft_config import SFTConfig

        cuda = torch.cuda.is_available()
        micro = self.config.micro_batch(cuda=cuda)
        settings: dict[str, Any] = {
            "output_dir": str(self.config.output_dir),
            "num_train_epochs": self.config.epochs,
            "max_steps": self.config.max_steps,
            "learning_rate": self.config.learning_rate,
            "per_device_train_batch_size": micro,
            "gradient_accumulation_steps": self.config.gradient_accumulation_steps * (self.config.batch_size // micro),
            "logging_steps": self.config.logging_steps,
            "report_to": self.config.report_to,
            "seed": self.config.seed,
            "save_strategy": "steps" if self.config.checkpoints else "no",
            "save_steps": 500,
            "max_length": None,  # lengths are slmswap's business: it never cuts a target silently
            "padding_free": self.config.padding_free and micro > 1,  # one sequence a pass has nothing to pack
            "dataset_kwargs": {"skip_prepare_dataset": True},
            "remove_unused_columns": False,
            "bf16": cuda and torch.cuda.is_bf16_supported(),
            "use_cpu": not cuda,
            "disable_tqdm": True,  # slmswap's own display shows the steps (TrainingProgress)
            "logging_nan_inf_filter": False,  # a NaN loss must reach the divergence guard, not be hidden
        }
        # Small models fit in memory; recomputing activations would only cost time (override via sft=). Newer
        # transformers renamed the setting (the old name warns).
        names = {field.name for field in dataclasses.fields(SFTConfig)}
        checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
        settings[checkpointing] = False
        return SFTConfig(**_passed_through(settings, self.config.sft, "sft"))

    def train(
        self, *, resume_from_checkpoint: str | bool | None = None, callbacks: Sequence[TrainerCallback] = ()
    ) -> TrainingOutcome:
        """Train, score the held-out slice, and save the adapter (or model), tokenizer and manifest.

        ``callbacks`` are further transformers ``TrainerCallback`` objects, called after slmswap's own.
        """
        from accelerate.utils import is_peft_model
        from transformers.trainer_callback import PrinterCallback, ProgressCallback
        from trl.trainer.sft_trainer import SFTTrainer

        output = self.config.output_dir
        callback = TaskMetricsCallback(
            self.eval_conversations,
            self.tokenizer,
            self.format,
            every=self.config.eval_steps,
            max_new_tokens=self.config.eval_max_new_tokens,
            metric_for_best=self.config.metric_for_best,
            patience=self.config.early_stopping_patience,
            best_dir=output / "best" if self.config.eval_steps else None,
            metrics=self.metrics,
            at_end=self.config.eval_at_end,
        )
        trainer = SFTTrainer(
            model=self.model,
            args=self._sft_config(),
            train_dataset=self.prepared.dataset,
            processing_class=self.tokenizer,
            peft_config=self._peft_config(),
            callbacks=[callback] if self.eval_conversations else [],
        )
        callback.trainer = trainer
        trained: Any = trainer.model
        install_labelled_head(trained.get_base_model() if is_peft_model(trained) else trained)
        guard = FiniteGuard()
        trainer.add_callback(guard)
        for noisy in (PrinterCallback, ProgressCallback):  # the tqdm bar and the raw log dictionaries
            trainer.remove_callback(noisy)
        display = TrainingProgress()
        display.trainer = trainer
        callback.announce = display.announce
        trainer.add_callback(display)  # after the scoring: it closes once the final scoring is shown
        trainer.add_callback(HistoryWriter(output / HISTORY_FILE, fresh=not resume_from_checkpoint))
        for extra in callbacks:
            trainer.add_callback(extra)
        # the torch thread count follows the free cores, re-checked at each layer's forward pass (or is pinned)
        with cpu_phase(self.config.threads, name="training") as threads, threads.watching(trainer.model):
            try:
                trainer.train(resume_from_checkpoint=resume_from_checkpoint)
            finally:
                display.on_train_end(trainer.args, trainer.state, trainer.control)
            self.threads = threads.record()
            """The thread policy's record of the training (also in the manifest's ``metrics["threads"]``)."""
        guard.check(self.model, self.config.learning_rate)  # never save weights that are NaN or infinite
        card = output / "README.md"
        had_card = card.exists()
        trainer.save_model(str(output))  # writes on the main process only
        if not had_card and trainer.is_world_process_zero():
            # PEFT's boilerplate model card ("More Information Needed" in every field); the manifest says what
            # this directory is
            card.unlink(missing_ok=True)
        manifest = Manifest.create(
            fmt=self.format,
            tokenizer=self.tokenizer,
            base_model=self.base_model,
            method=self.config.method,
            config=self.config.model_dump(mode="json"),
            data={"train": self.prepared.stats.model_dump()},
            metrics={
                "history": callback.history,
                "final": callback.history[-1] if callback.history else {},
                "threads": self.threads,
            },
        )
        if trainer.is_world_process_zero():  # one writer under torchrun / accelerate launch
            self.tokenizer.save_pretrained(str(output))
            manifest.save(output)
        self.trainer = trainer
        return TrainingOutcome(output, manifest, callback.history)


def _passed_through(settings: dict[str, Any], given: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``settings`` updated with the ``sft`` / ``peft`` keys ``given``, with a warning for each one that replaces
    a setting slmswap made (from a ``TrainConfig`` field or its own defaults)."""
    for key in sorted(set(given) & set(settings)):
        if given[key] != settings[key]:
            warnings.warn(
                f"{what}.{key}={given[key]!r} overrides the {settings[key]!r} slmswap sets"
                " (set the TrainConfig field instead where there is one)",
                UserWarning,
                stacklevel=4,
            )
    return {**settings, **given}


def _check_passthrough(config: TrainConfig) -> None:
    """Refuse ``sft`` / ``peft`` keys that TRL's ``SFTConfig`` / PEFT's ``LoraConfig`` do not have, before any
    work starts (they would fail deep inside with a TypeError)."""
    from peft import LoraConfig
    from trl.trainer.sft_config import SFTConfig

    for what, keys, target in (("sft", config.sft, SFTConfig), ("peft", config.peft, LoraConfig)):
        known = {field.name for field in dataclasses.fields(target)}
        unknown = sorted(set(keys) - known)
        if unknown:
            raise ConfigError(
                f"{what}: {', '.join(map(repr, unknown))} is not a {target.__name__} setting "
                f"(see the {'TRL' if what == 'sft' else 'PEFT'} documentation for its fields)"
            )


def _require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            "QLoRA quantises the base model to 4 bits with bitsandbytes, which needs a CUDA GPU; this machine has "
            "none. Use method='lora' (or run on a GPU with pip install 'slmswap[qlora]')"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ConfigError("QLoRA needs the 'qlora' extra: pip install 'slmswap[qlora]'") from exc


def _require_kept(stats: PreparationStats, what: str) -> None:
    if stats.kept == 0:
        reasons = ", ".join(f"{k}={v}" for k, v in stats.dropped.items())
        first = stats.first_drops[0] if stats.first_drops else ""
        raise DataError(
            f"every {what} example was dropped ({reasons}); first: {first}",
            hint=f"check the format can write this data (tool calls need {tool_call_hint()})",
        )
