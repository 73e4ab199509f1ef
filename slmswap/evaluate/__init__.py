"""Evaluation: generate on held-out prompts rendered exactly as in training, score, and keep every record."""

from slmswap.evaluate.generation import Generation, Prompt, TransformersGenerator, stop_markers
from slmswap.evaluate.report import (
    Run,
    load_run,
    prompt_mismatches,
    report_html,
    report_markdown,
    report_summary,
    write_report,
)
from slmswap.evaluate.rundir import RECORDS_FILE, RESULTS_FILE, evaluate_into, load_run_dir
from slmswap.evaluate.runner import EvalRecord, EvaluationResult, evaluate, read_records, write_atomically

__all__ = [
    "RECORDS_FILE",
    "RESULTS_FILE",
    "EvalRecord",
    "EvaluationResult",
    "Generation",
    "Prompt",
    "Run",
    "TransformersGenerator",
    "evaluate",
    "evaluate_into",
    "load_run",
    "load_run_dir",
    "prompt_mismatches",
    "read_records",
    "report_html",
    "report_markdown",
    "report_summary",
    "stop_markers",
    "write_atomically",
    "write_report",
]
