"""Training: a facade over TRL's SFTTrainer with slmswap's masks, task metrics while training, and a manifest.

The trainer and its callback (which import transformers' and TRL's training machinery, seconds of start-up)
load when first used, so that reading a configuration or a manifest stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from slmswap.templates.spans import template_sha256
from slmswap.train.config import TrainConfig
from slmswap.trained.manifest import MANIFEST_NAME, Manifest

if TYPE_CHECKING:
    from slmswap.train.callback import TaskMetricsCallback
    from slmswap.train.trainer import Trainer, TrainingOutcome
    from slmswap.trained.load import load_trained

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "TaskMetricsCallback",
    "TrainConfig",
    "Trainer",
    "TrainingOutcome",
    "load_trained",
    "template_sha256",
]

_LAZY = {
    "TaskMetricsCallback": "slmswap.train.callback",
    "Trainer": "slmswap.train.trainer",
    "TrainingOutcome": "slmswap.train.trainer",
    "load_trained": "slmswap.trained.load",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
