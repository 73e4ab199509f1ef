"""The trained-model artefact: what a training output directory holds, read by everything that uses a trained
model (evaluation, serving, the doctor, the report).

- :mod:`slmswap.trained.manifest`: the manifest (``slmswap.json``: format, template, base model, configuration);
- :mod:`slmswap.trained.history`: the training history (``history.jsonl``) behind the report's curves;
- :mod:`slmswap.trained.load`: :func:`load_trained`, the model with its tokenizer, format and manifest.

It sits below the jobs (training writes the artefact, the others read it), so no arrow runs back up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from slmswap.trained.history import HISTORY_FILE, TrainingHistory, read_history
from slmswap.trained.manifest import MANIFEST_NAME, Manifest, is_trained

if TYPE_CHECKING:
    from slmswap.trained.load import load_trained

__all__ = ["HISTORY_FILE", "MANIFEST_NAME", "Manifest", "TrainingHistory", "is_trained", "load_trained", "read_history"]


def __getattr__(name: str) -> Any:
    if name == "load_trained":  # imports peft and the model machinery: seconds, only when used
        return importlib.import_module("slmswap.trained.load").load_trained
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
