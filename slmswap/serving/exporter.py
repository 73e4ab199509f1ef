"""Export: a standard Hugging Face model directory that any transformers-compatible engine serves with the
trained prompt, and whose tokenizer reads the format's calls back as OpenAI ``tool_calls``.

The directory holds the weights (merged into the base, or the adapter with its base named), the tokenizer with
the format baked into its ``chat_template`` and a ``response_template``, the original chat template (so slmswap
still renders through format + template), the manifest (so ``slmswap eval`` and the doctor know what was
trained), and a ``--tool-parser-plugin`` file that reads the calls for vLLM as ``slmswap serve`` reads them for
``transformers serve``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap.errors import ConfigError
from slmswap.models import load_model, load_tokenizer
from slmswap.serving.template import baked_chat_template, response_template
from slmswap.serving.vllm_parser import VLLM_PARSER_FILE, write_vllm_parser
from slmswap.templates.spans import template_sha256
from slmswap.trained.load import require_safetensors
from slmswap.trained.manifest import (
    ORIGINAL_TEMPLATE_FILE,
    ExportInfo,
    Manifest,
    load_trained_tokenizer,
)

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ADAPTER_FILES", "export"]

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
"""What a PEFT adapter directory holds."""


def export(model_dir: str | Path, out: str | Path, *, merge: bool = False) -> Path:
    """Export the training output ``model_dir`` into ``out`` (created; it must not exist or be empty).

    Args:
        model_dir: A slmswap training output (it holds ``slmswap.json``).
        out: The directory to write.
        merge: Merge a LoRA adapter into the base model's weights (what ``transformers serve`` and a plain
            ``vllm serve`` load); else the adapter is written with its base named (``vllm serve --enable-lora``).

    Returns:
        ``out``.

    Raises:
        FormatError: The trained format provides nothing to export with (a plugin without serving hooks).
        ConfigError: ``model_dir`` is not a training output, or ``out`` holds files.
        ModelError: The weights are pickled, or the adapter is missing (see
            :func:`~slmswap.trained.load.require_safetensors`).
    """
    source, target = Path(model_dir), Path(out)
    manifest = Manifest.load(source)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target}: exists and is not an empty directory; export into a new one")
    tokenizer = load_trained_tokenizer(source)
    fmt = manifest.trained_format(tokenizer)
    baked = baked_chat_template(fmt, tokenizer)  # refuses a format that cannot be exported, before any work
    response = response_template(fmt, tokenizer)
    require_safetensors(source, manifest)  # a pickled adapter or checkpoint is refused, by name, before any work
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        merged = _write_weights(source, staging, manifest, merge=merge)
        _write_tokenizer(source, staging, tokenizer, baked, response)
        write_vllm_parser(staging / VLLM_PARSER_FILE, response)
        info = ExportInfo(
            merged=merged,
            chat_template_sha256=template_sha256(_with_template(tokenizer, baked)),
            response_template_added=getattr(tokenizer, "response_template", None) is None,
        )
        manifest.model_copy(update={"export": info}).save(staging)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _with_template(tokenizer: PreTrainedTokenizerBase, template: str) -> Any:
    import copy

    clone = copy.copy(tokenizer)
    clone.chat_template = template
    return clone


def _write_weights(source: Path, staging: Path, manifest: Manifest, *, merge: bool) -> bool:
    """The model's weights into ``staging``; returns whether they are full (merged) weights."""
    adapter = manifest.method != "full" and (source / ADAPTER_FILES[0]).is_file()
    if manifest.export is not None and manifest.export.merged:
        adapter = False
    if not adapter:
        load_model(str(source)).save_pretrained(str(staging), safe_serialization=True)
        return True
    if not merge:
        for name in ADAPTER_FILES:
            shutil.copy2(source / name, staging / name)
        return False
    from peft import PeftModel

    model = PeftModel.from_pretrained(load_model(manifest.base_model), str(source))
    model.merge_and_unload().save_pretrained(str(staging), safe_serialization=True)
    return True


def _write_tokenizer(
    source: Path, staging: Path, tokenizer: PreTrainedTokenizerBase, baked: str, response: dict[str, Any]
) -> None:
    exported = load_tokenizer(str(source))  # a fresh copy: the caller's tokenizer stays as it is
    exported.chat_template = baked
    exported.response_template = response
    exported.save_pretrained(str(staging))
    original = tokenizer.chat_template
    assert isinstance(original, str)  # baked_chat_template refused anything else
    (staging / ORIGINAL_TEMPLATE_FILE).write_text(original, encoding="utf-8")
