"""Loading a trained output: the model (base plus adapter, or merged weights), its tokenizer, the trained format
and the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import resolve_format
from slmswap.models import load_model
from slmswap.trained.manifest import Manifest, load_trained_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["load_trained"]


def load_trained(
    directory: str | Path, *, format: str | ChatFormat | None = None, override: bool = False
) -> tuple[Any, PreTrainedTokenizerBase, ChatFormat, Manifest]:
    """Load a training output: the model (base + adapter), its tokenizer, the trained format, the manifest.

    The format is restored from the manifest; passing another one is refused unless ``override=True``.
    """
    directory = Path(directory)
    manifest = Manifest.load(directory)
    tokenizer = load_trained_tokenizer(directory)
    fmt = manifest.trained_format(tokenizer) if format is None else resolve_format(format, tokenizer=tokenizer)
    manifest.check(fmt, tokenizer, override=override)
    model: Any
    if manifest.method == "full" or (manifest.export is not None and manifest.export.merged):
        model = load_model(str(directory))
    else:
        from peft import PeftModel

        model = PeftModel.from_pretrained(load_model(manifest.base_model), str(directory))
    model.eval()
    return model, tokenizer, fmt, manifest
