"""Evaluation: generate on held-out prompts rendered exactly as in training, score, and keep every record.

The backends share one contract (:mod:`slmswap.evaluation.backend`): :class:`TransformersBackend` (a local
model), :class:`~slmswap.evaluation.vllm.VLLMBackend` (GPU, extra ``vllm``) and
:class:`~slmswap.evaluation.openai.OpenAIBackend` (any OpenAI-compatible server: an LLM baseline, or a served
swap).
"""

from slmswap.evaluation.backend import Backend, Generate, Generation, Prompt
from slmswap.evaluation.choice import BackendChoice, choose_backend
from slmswap.evaluation.generation import TransformersBackend, stop_markers
from slmswap.evaluation.html_report import report_html
from slmswap.evaluation.prompts import EvalItem, eval_items
from slmswap.evaluation.report import Run, load_run, prompt_mismatches, report_markdown, report_summary
from slmswap.evaluation.report_files import write_report
from slmswap.evaluation.rundir import RECORDS_FILE, RESULTS_FILE, evaluate_into, load_run_dir
from slmswap.evaluation.runner import EvalRecord, EvaluationResult, evaluate, read_records

__all__ = [
    "RECORDS_FILE",
    "RESULTS_FILE",
    "Backend",
    "BackendChoice",
    "EvalItem",
    "EvalRecord",
    "EvaluationResult",
    "Generate",
    "Generation",
    "Prompt",
    "Run",
    "TransformersBackend",
    "choose_backend",
    "eval_items",
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
    "write_report",
]
