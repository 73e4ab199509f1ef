"""The manifest a trained output carries (``slmswap.json``): the format and template it was trained with, and
what went in and came out. Evaluation reads it, so the trained format travels with the adapter."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue

from slmswap._files import read_json_model, write_atomically
from slmswap.errors import ConfigError
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import resolve_format
from slmswap.models import DEFAULT_MODEL, load_tokenizer
from slmswap.templates.spans import template_sha256

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "MANIFEST_NAME",
    "ORIGINAL_TEMPLATE_FILE",
    "ExportInfo",
    "Manifest",
    "is_trained",
    "load_trained_tokenizer",
    "setup_for",
]

MANIFEST_NAME = "slmswap.json"


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("slmswap", "transformers", "trl", "peft", "torch", "datasets"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


ORIGINAL_TEMPLATE_FILE = "slmswap_training_chat_template.jinja"
"""In an exported directory: the chat template the model was trained with (the tokenizer's own holds the
format baked in, for servers)."""


class ExportInfo(BaseModel):
    """How an exported directory was made."""

    model_config = ConfigDict(frozen=True)

    merged: bool
    """The weights are the base with the adapter merged in (else the adapter, with its base named)."""
    chat_template_sha256: str
    """SHA-256 of the exported (baked) chat template."""
    response_template_added: bool
    """The tokenizer had no response template of its own: export wrote the format's."""


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
    export: ExportInfo | None = None
    """Set in an exported directory (:func:`slmswap.export`): how it was exported."""

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
        """The format this model was trained with, rebuilt with its options (a format that needs the tokenizer
        gets ``tokenizer``)."""
        options: dict[str, Any] = dict(self.format_options)
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


def is_trained(path: str | Path) -> bool:
    """Whether ``path`` is a slmswap training (or export) output: it holds a manifest."""
    return (Path(path) / MANIFEST_NAME).is_file()


def setup_for(
    model: str | None, format_name: str | None, *, default_format: str = "hermes"
) -> tuple[PreTrainedTokenizerBase, ChatFormat]:
    """The tokenizer and format for ``model`` (default: the embedded one): a training output's own format unless
    another is named, else ``format_name`` or ``default_format``."""
    model = model or DEFAULT_MODEL
    if is_trained(model):
        manifest = Manifest.load(Path(model))  # a corrupt manifest is named before anything else loads
        tokenizer = load_trained_tokenizer(model)
        if format_name is None:
            return tokenizer, manifest.trained_format(tokenizer)
    else:
        tokenizer = load_tokenizer(model)
    return tokenizer, resolve_format(format_name or default_format, tokenizer=tokenizer)


def load_trained_tokenizer(directory: str | Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a training or export output, with the chat template the model was trained with (an
    exported tokenizer's own template has the format baked in, for servers; slmswap renders through the
    format and the original)."""
    directory = Path(directory)
    tokenizer = load_tokenizer(str(directory))
    original = directory / ORIGINAL_TEMPLATE_FILE
    if original.is_file():
        tokenizer.chat_template = original.read_text(encoding="utf-8")
        export = Manifest.load(directory).export
        if export is not None and export.response_template_added:
            tokenizer.response_template = None
    return tokenizer
