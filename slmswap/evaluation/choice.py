"""Which backend answers an evaluation, chosen from what is named: an OpenAI-compatible API, a training
output (its trained format restored), or a plain model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap.errors import ConfigError
from slmswap.evaluation.backend import Generate
from slmswap.evaluation.generation import TransformersBackend
from slmswap.formats.base import ChatFormat
from slmswap.models import DEFAULT_MODEL
from slmswap.trained.manifest import Manifest, is_trained, setup_for

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["BackendChoice", "choose_backend"]


@dataclass(frozen=True)
class BackendChoice:
    """A backend ready to answer, with the tokenizer and format that render its prompts."""

    generate: Generate
    tokenizer: PreTrainedTokenizerBase
    fmt: ChatFormat
    name: str
    """What answers, as records and results name it (the API's model name, or the model's path)."""


def _exported(model: str) -> bool:
    return is_trained(model) and Manifest.load(Path(model)).export is not None


def choose_backend(
    *,
    model: str | None = None,
    format: str | None = None,
    override: bool = False,
    batch_size: int | None = None,
    max_new_tokens: int = 256,
    api_base: str | None = None,
    api_model: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    api_version: str | None = None,
    concurrency: int = 8,
    constrained: bool = False,
    threads: int | None = None,
) -> BackendChoice:
    """The backend for these settings (``slmswap eval``'s options).

    With ``api_base`` an OpenAI-compatible API answers (``api_model`` names its model) the very prompt that
    ``model``'s format renders (or, when ``model`` is an exported directory, the conversation itself: the
    served swap's own template renders the format); else a training output answers with the format it was
    trained with (another ``format`` is refused unless ``override``), or a plain model (default: the embedded
    one) with ``format``. ``constrained`` (decoding within the format's grammar) needs a local model.
    ``threads`` pins a local model's torch CPU threads (``None``: the free cores, followed as they change).
    """
    if api_base and constrained:
        raise ConfigError(
            "--constrained decodes with a local model; an API decodes as its server does (to serve constrained, "
            "see the guide 'Deploying the swap')"
        )
    if api_base:
        from slmswap.evaluation.openai import OpenAIBackend

        if not api_model:
            raise ConfigError("--api-base needs --api-model (the API's name for the model)")
        tokenizer, fmt = setup_for(model, format)
        backend = OpenAIBackend(
            api_base,
            api_model,
            api_key_env=api_key_env,
            api_version=api_version,
            concurrency=concurrency,
            max_tokens=max_new_tokens,
            send="conversation" if model is not None and _exported(model) else "format",
        )
        return BackendChoice(backend.generate, tokenizer, fmt, api_model)
    loaded: Any
    if model is not None and is_trained(model):
        from slmswap.trained.load import load_trained

        loaded, tokenizer, fmt, _ = load_trained(model, format=format, override=override)
    else:
        from slmswap.models import load_model

        tokenizer, fmt = setup_for(model, format)
        loaded = load_model(model or DEFAULT_MODEL)
        loaded.eval()
    local = TransformersBackend(
        loaded, tokenizer, batch_size=batch_size, max_new_tokens=max_new_tokens, threads=threads
    )
    return BackendChoice(local.generate, tokenizer, fmt, model or DEFAULT_MODEL)
