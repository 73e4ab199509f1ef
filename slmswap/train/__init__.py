"""Training: a facade over TRL's SFTTrainer with slmswap's masks, task metrics while training, and a manifest."""

from slmswap.templates.spans import template_sha256
from slmswap.train.callback import TaskMetricsCallback
from slmswap.train.config import TrainConfig
from slmswap.train.manifest import MANIFEST_NAME, Manifest
from slmswap.train.trainer import Trainer, TrainingOutcome, load_trained

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
