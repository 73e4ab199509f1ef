"""Loading a trained output: the model (base plus adapter, or merged weights), its tokenizer, the trained format
and the manifest. Weights load from safetensors only: a pickled adapter (``adapter_model.bin``) or checkpoint
(``pytorch_model.bin``) is refused, naming the file, before anything is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap.errors import ModelError
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import resolve_format
from slmswap.models import load_model, refuse_pickled_checkpoint
from slmswap.trained.manifest import Manifest, load_trained_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ADAPTER_WEIGHTS", "holds_adapter", "load_trained", "require_safetensors"]

ADAPTER_WEIGHTS = "adapter_model.safetensors"
"""The adapter's weights in a training output (PEFT's safetensors name)."""
_PICKLED_ADAPTER = "adapter_model.bin"  # PEFT's torch.save name, which it would unpickle


def holds_adapter(manifest: Manifest) -> bool:
    """Whether the directory ``manifest`` describes holds an adapter (else full weights: a full fine-tune, or a
    merged export)."""
    return manifest.method != "full" and not (manifest.export is not None and manifest.export.merged)


def require_safetensors(directory: str | Path, manifest: Manifest) -> None:
    """Refuse the training output ``directory`` unless its weights (the adapter, or full weights) are in
    safetensors form.

    Raises:
        ModelError: The weights are pickled (``adapter_model.bin``, ``pytorch_model.bin``: unpickling a file can
            run code), or the adapter is missing; the message names the file.
    """
    directory = Path(directory)
    if not holds_adapter(manifest):
        refuse_pickled_checkpoint(directory)
        return
    if (directory / ADAPTER_WEIGHTS).is_file():
        return
    pickled = directory / _PICKLED_ADAPTER
    if pickled.is_file():
        raise ModelError(
            f"{pickled}: a pickled adapter, and slmswap loads adapters from safetensors only (unpickling a file "
            f"can run code). Save the adapter as {ADAPTER_WEIGHTS} (PeftModel.save_pretrained, which writes "
            "safetensors), from a copy you trust"
        )
    raise ModelError(
        f"{directory} holds no {ADAPTER_WEIGHTS}: the training output is incomplete (did training stop before "
        "it saved the adapter?)"
    )


def load_trained(
    directory: str | Path, *, format: str | ChatFormat | None = None, override: bool = False
) -> tuple[Any, PreTrainedTokenizerBase, ChatFormat, Manifest]:
    """Load a training output: the model (base + adapter), its tokenizer, the trained format, the manifest.

    The format is restored from the manifest; passing another one is refused unless ``override=True``.

    Raises:
        ModelError: The weights are pickled, or missing (see :func:`require_safetensors`), checked before
            anything is loaded.
    """
    directory = Path(directory)
    manifest = Manifest.load(directory)
    require_safetensors(directory, manifest)
    tokenizer = load_trained_tokenizer(directory)
    fmt = manifest.trained_format(tokenizer) if format is None else resolve_format(format, tokenizer=tokenizer)
    manifest.check(fmt, tokenizer, override=override)
    model: Any
    if not holds_adapter(manifest):
        model = load_model(str(directory))
    else:
        from peft import PeftModel

        model = PeftModel.from_pretrained(load_model(manifest.base_model), str(directory))
    model.eval()
    return model, tokenizer, fmt, manifest
