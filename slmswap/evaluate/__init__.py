"""Evaluation: generate on held-out prompts rendered exactly as in training, score, and keep every record."""

from slmswap.evaluate.generation import Generation, TransformersGenerator, stop_markers
from slmswap.evaluate.runner import EvalRecord, EvaluationResult, evaluate, read_records, write_atomically

__all__ = [
    "EvalRecord",
    "EvaluationResult",
    "Generation",
    "TransformersGenerator",
    "evaluate",
    "read_records",
    "stop_markers",
    "write_atomically",
]
