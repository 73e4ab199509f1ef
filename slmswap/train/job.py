"""A training job as one YAML file describes it (what ``slmswap train CONFIG.yaml`` runs).

The file mirrors the Python API one to one: its keys are :class:`~slmswap.train.Trainer`'s arguments
(``train``, ``eval``, ``model``, ``format``, ``config``), with data given as file paths and ``config`` holding
:class:`~slmswap.train.TrainConfig`'s fields::

    model: smollm2-135m-instruct        # Trainer(model=...)
    format: hermes                      # Trainer(format=...), options in format_options
    train: data/train.jsonl             # Trainer(train=load_conversations("data/train.jsonl"))
    eval: data/test.jsonl               # Trainer(eval=...)
    config:                             # Trainer(config=TrainConfig(...))
      max_steps: 60
      learning_rate: 1.0e-3
      output_dir: out/adapter

Relative paths are read from the YAML file's directory. ``demo:train`` and ``demo:test`` name the bundled demo
dataset's splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from slmswap._files import read_yaml_mapping, validate
from slmswap.data.named import load_data
from slmswap.errors import ConfigError
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import resolve_format
from slmswap.models import DEFAULT_MODEL, load_tokenizer
from slmswap.schema import Conversation
from slmswap.train.config import TrainConfig

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from slmswap.train.trainer import Trainer

__all__ = ["TrainJob"]


class TrainJob(BaseModel):
    """What to train, on what, and how: :class:`~slmswap.train.Trainer`'s arguments as data."""

    model_config = ConfigDict(extra="forbid")

    train: str = Field(description="Training data: a file of any supported shape, or 'demo:train'.")
    eval: str | None = Field(default=None, description="Held-out data scored with task metrics during training.")
    model: str = Field(default=DEFAULT_MODEL, description="Model name, local path or hub id.")
    format: str = Field(default="hermes", description="Chat format name (built-in or from a plugin).")
    format_options: dict[str, JsonValue] = Field(default_factory=dict, description="Options of the format.")
    chat_template: Path | None = Field(
        default=None, description="A Jinja file that replaces the tokenizer's chat template (rarely wise)."
    )
    config: TrainConfig = Field(default_factory=TrainConfig, description="How to train.")
    base: Path | None = Field(default=None, exclude=True, description="Directory relative paths are read from.")

    @field_validator("format_options")
    @classmethod
    def _no_tokenizer(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if "tokenizer" in value:
            raise ValueError(
                "'tokenizer' is not a format option: a format that reads the chat template (needs_tokenizer) is "
                "handed the tokenizer of 'model'; remove the key"
            )
        return value

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainJob:
        """Read a job from YAML; errors name the file and the field. Relative paths are the file's neighbours."""
        path = Path(path)
        job = validate(cls, read_yaml_mapping(path, "Trainer arguments"), path)
        base = path.resolve().parent
        config = job.config
        if not config.output_dir.is_absolute():
            config = config.model_copy(update={"output_dir": base / config.output_dir})
        template = job.chat_template
        if template is not None and not template.is_absolute():
            template = base / template
        return job.model_copy(update={"base": base, "config": config, "chat_template": template})

    def to_yaml(self) -> str:
        """The job as YAML (what :meth:`from_yaml` reads back); ``epochs`` is left out when ``max_steps`` decides
        how long training runs."""
        ignored = {"config": {"epochs"}} if self.config.max_steps > 0 else None
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True, exclude=ignored), sort_keys=False)

    def load_tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer, with ``chat_template`` in place of its own when one is given."""
        tokenizer = load_tokenizer(self.model)
        if self.chat_template is not None:
            try:
                tokenizer.chat_template = self.chat_template.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"chat_template: cannot read {self.chat_template}: {exc}") from exc
        return tokenizer

    def load_format(self, tokenizer: PreTrainedTokenizerBase) -> ChatFormat:
        """The chat format with its options (the native format reads the tokenizer)."""
        return resolve_format(self.format, tokenizer=tokenizer, **self.format_options)

    def load_train(self) -> list[Conversation]:
        """The training conversations."""
        return load_data(self.train, base=self.base)

    def load_eval(self) -> list[Conversation]:
        """The held-out conversations (none when ``eval`` is not set)."""
        return load_data(self.eval, base=self.base) if self.eval else []

    def trainer(
        self, *, tokenizer: PreTrainedTokenizerBase | None = None, train: Sequence[Conversation] | None = None
    ) -> Trainer:
        """The :class:`~slmswap.train.Trainer` this job describes (data loaded, everything checked); a tokenizer
        or training data already loaded from this job can be handed over instead of being loaded again."""
        from slmswap.train.trainer import Trainer

        tokenizer = tokenizer or self.load_tokenizer()
        return Trainer(
            train if train is not None else self.load_train(),
            self.load_eval(),
            model=self.model,
            tokenizer=tokenizer,
            format=self.load_format(tokenizer),
            config=self.config,
        )
