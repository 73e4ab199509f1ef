"""Evaluation: generate on held-out prompts rendered exactly as in training, score, and keep every record."""

from slmswap.evaluate.generation import Generation, TransformersGenerator, stop_markers
from slmswap.evaluate.report import Run, load_run, report_html, report_markdown, write_report
from slmswap.evaluate.runner import EvalRecord, EvaluationResult, evaluate, read_records, write_atomically

__all__ = [
    "EvalRecord",
    "EvaluationResult",
    "Generation",
    "Run",
    "TransformersGenerator",
    "evaluate",
    "load_run",
    "read_records",
    "report_html",
    "report_markdown",
    "stop_markers",
    "write_atomically",
    "write_report",
]
