"""The manifest a trained output carries (``slmswap.json``): the format and template it was trained with, and
what went in and came out. Evaluation reads it, so the trained format travels with the adapter."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue

from slmswap._files import read_json_model
from slmswap.errors import ConfigError
from slmswap.evaluate.runner import write_atomically
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import resolve_format
from slmswap.templates.spans import template_sha256

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["MANIFEST_NAME", "Manifest"]

MANIFEST_NAME = "slmswap.json"


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("slmswap", "transformers", "trl", "peft", "torch", "datasets"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Manifest(BaseModel):
    """What a trained output directory holds and how it was made."""

    model_config = ConfigDict(frozen=True)

    format: str
    format_version: str
    format_options: dict[str, JsonValue]
    chat_template_sha256: str
    base_model: str
    method: str
    config: dict[str, Any]
    data: dict[str, Any]
    """Preparation statistics of the training (and held-out) data."""
    metrics: dict[str, Any]
    """Task metrics logged during and at the end of training."""
    versions: dict[str, str]

    @classmethod
    def create(
        cls,
        *,
        fmt: ChatFormat,
        tokenizer: PreTrainedTokenizerBase,
        base_model: str,
        method: str,
        config: dict[str, Any],
        data: dict[str, Any],
        metrics: dict[str, Any],
    ) -> Manifest:
        """A manifest for a run of ``fmt`` on ``tokenizer``'s template."""
        return cls(
            format=fmt.name,
            format_version=fmt.version,
            format_options=fmt.options(),
            chat_template_sha256=template_sha256(tokenizer),
            base_model=base_model,
            method=method,
            config=config,
            data=data,
            metrics=metrics,
            versions=_versions(),
        )

    def save(self, directory: Path) -> Path:
        """Write ``slmswap.json`` into ``directory`` atomically."""
        path = directory / MANIFEST_NAME
        write_atomically(path, self.model_dump_json(indent=2))
        return path

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """Read ``slmswap.json`` from ``directory``."""
        path = directory / MANIFEST_NAME
        if not path.is_file():
            raise ConfigError(f"{directory} holds no {MANIFEST_NAME}: it is not a slmswap training output")
        return read_json_model(cls, path)

    def trained_format(self, tokenizer: PreTrainedTokenizerBase) -> ChatFormat:
        """The format this model was trained with, rebuilt with its options (``native`` reads ``tokenizer``)."""
        options: dict[str, Any] = dict(self.format_options)
        if self.format == "native":
            options.pop("parser", None)  # derived from the tokenizer, not an option
        return resolve_format(self.format, tokenizer=tokenizer, **options)

    def mismatches(self, fmt: ChatFormat, tokenizer: PreTrainedTokenizerBase) -> list[str]:
        """How evaluating with ``fmt`` on ``tokenizer``'s template differs from training (empty: it does not)."""
        problems = []
        if (fmt.name, fmt.version) != (self.format, self.format_version):
            problems.append(f"format {fmt.name!r} v{fmt.version} (trained: {self.format!r} v{self.format_version})")
        if fmt.options() != self.format_options:
            problems.append(f"format options {fmt.options()} (trained: {self.format_options})")
        if template_sha256(tokenizer) != self.chat_template_sha256:
            problems.append("a different chat template")
        return problems

    def check(self, fmt: ChatFormat, tokenizer: PreTrainedTokenizerBase, *, override: bool = False) -> None:
        """Refuse to evaluate with another format or template than the one trained, unless ``override``."""
        problems = self.mismatches(fmt, tokenizer)
        if problems and not override:
            raise ConfigError(
                "this model was trained with another setup: "
                + "; ".join(problems)
                + ". Evaluate with the trained format (load_trained restores it), or pass override=True"
            )
