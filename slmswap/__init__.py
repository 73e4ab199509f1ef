"""slmswap: swap a hosted LLM for a small fine-tuned model for tool calling and JSON output, and know it worked.

The public API is ``__all__``: everything a program needs for the whole job, importable from here
(``slmswap.Trainer``, ``slmswap.get_format``, ``slmswap.evaluate``, ...). Names are imported when first used,
so ``import slmswap`` stays quick. The subpackages (:mod:`slmswap.data`, :mod:`slmswap.formats`,
:mod:`slmswap.templates`, :mod:`slmswap.train`, :mod:`slmswap.evaluation`, :mod:`slmswap.metrics`,
:mod:`slmswap.doctor`, :mod:`slmswap.serving`) export more, for advanced use; the names listed here are the
stable ones.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from slmswap._version import __version__

if TYPE_CHECKING:
    from slmswap.data import (
        LoadResult,
        load_bfcl,
        load_bfcl_wheel,
        load_conversations,
        load_demo_dataset,
        load_hermes,
        load_openai,
        load_prompt_completion,
        load_sharegpt,
        load_xlam,
    )
    from slmswap.doctor import DoctorReport, diagnose
    from slmswap.errors import (
        BackendError,
        CheckError,
        ConfigError,
        DataError,
        FormatError,
        ModelError,
        SlmswapError,
        TemplateError,
    )
    from slmswap.evaluation import (
        Backend,
        EvaluationResult,
        Generation,
        Prompt,
        Run,
        TransformersBackend,
        evaluate,
        evaluate_into,
        load_run_dir,
        write_report,
    )
    from slmswap.evaluation.openai import OpenAIBackend
    from slmswap.evaluation.vllm import VLLMBackend
    from slmswap.formats import ChatFormat, ParseResult, available_formats, get_format, register_format
    from slmswap.metrics import Metric, MetricsReport, compare, default_metrics, require_better
    from slmswap.models import DEFAULT_MODEL, load_model, load_tokenizer
    from slmswap.schema import Conversation, Message, Tool, ToolCall
    from slmswap.serving import export, serve, serving_parity
    from slmswap.templates import lint_template, prepare_dataset
    from slmswap.train import Manifest, TrainConfig, Trainer, load_trained

# name -> the module that defines it; imported on first use (see __getattr__).
_HOMES: dict[str, str] = {
    **dict.fromkeys(("Conversation", "Message", "Tool", "ToolCall"), "slmswap.schema"),
    **dict.fromkeys(
        (
            "LoadResult",
            "load_bfcl",
            "load_bfcl_wheel",
            "load_conversations",
            "load_demo_dataset",
            "load_hermes",
            "load_openai",
            "load_prompt_completion",
            "load_sharegpt",
            "load_xlam",
        ),
        "slmswap.data",
    ),
    **dict.fromkeys(("DEFAULT_MODEL", "load_model", "load_tokenizer"), "slmswap.models"),
    **dict.fromkeys(
        ("ChatFormat", "ParseResult", "available_formats", "get_format", "register_format"), "slmswap.formats"
    ),
    **dict.fromkeys(("lint_template", "prepare_dataset"), "slmswap.templates"),
    **dict.fromkeys(("Manifest", "TrainConfig", "Trainer", "load_trained"), "slmswap.train"),
    **dict.fromkeys(
        (
            "Backend",
            "EvaluationResult",
            "Generation",
            "Prompt",
            "Run",
            "TransformersBackend",
            "evaluate",
            "evaluate_into",
            "load_run_dir",
            "write_report",
        ),
        "slmswap.evaluation",
    ),
    "OpenAIBackend": "slmswap.evaluation.openai",
    "VLLMBackend": "slmswap.evaluation.vllm",
    **dict.fromkeys(("Metric", "MetricsReport", "compare", "default_metrics", "require_better"), "slmswap.metrics"),
    **dict.fromkeys(("DoctorReport", "diagnose"), "slmswap.doctor"),
    **dict.fromkeys(("export", "serve", "serving_parity"), "slmswap.serving"),
    **dict.fromkeys(
        (
            "BackendError",
            "CheckError",
            "ConfigError",
            "DataError",
            "FormatError",
            "ModelError",
            "SlmswapError",
            "TemplateError",
        ),
        "slmswap.errors",
    ),
}

__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "BackendError",
    "ChatFormat",
    "CheckError",
    "ConfigError",
    "Conversation",
    "DataError",
    "DoctorReport",
    "EvaluationResult",
    "FormatError",
    "Generation",
    "LoadResult",
    "Manifest",
    "Message",
    "Metric",
    "MetricsReport",
    "ModelError",
    "OpenAIBackend",
    "ParseResult",
    "Prompt",
    "Run",
    "SlmswapError",
    "TemplateError",
    "Tool",
    "ToolCall",
    "TrainConfig",
    "Trainer",
    "TransformersBackend",
    "VLLMBackend",
    "__version__",
    "available_formats",
    "compare",
    "default_metrics",
    "diagnose",
    "evaluate",
    "evaluate_into",
    "export",
    "get_format",
    "lint_template",
    "load_bfcl",
    "load_bfcl_wheel",
    "load_conversations",
    "load_demo_dataset",
    "load_hermes",
    "load_model",
    "load_openai",
    "load_prompt_completion",
    "load_run_dir",
    "load_sharegpt",
    "load_tokenizer",
    "load_trained",
    "load_xlam",
    "prepare_dataset",
    "register_format",
    "require_better",
    "serve",
    "serving_parity",
    "write_report",
]


_SUBPACKAGES = frozenset(
    {
        "cli",
        "data",
        "demo",
        "doctor",
        "errors",
        "evaluation",
        "formats",
        "metrics",
        "models",
        "rendering",
        "schema",
        "serving",
        "templates",
        "train",
        "validation",
    }
)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:  # slmswap.metrics.flatten after a bare "import slmswap"
        return importlib.import_module(f"slmswap.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'slmswap' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
