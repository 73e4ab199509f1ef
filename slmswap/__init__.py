"""slmswap: swap a hosted LLM for a small fine-tuned model for tool calling and JSON output, and know it worked.

The public API is ``__all__``: everything a program needs for the whole job, importable from here
(``slmswap.Trainer``, ``slmswap.get_format``, ``slmswap.evaluate``, ...). Names are imported when first used,
so ``import slmswap`` stays quick. The subpackages (:mod:`slmswap.data`, :mod:`slmswap.formats`,
:mod:`slmswap.templates`, :mod:`slmswap.train`, :mod:`slmswap.evaluation`, :mod:`slmswap.metrics`,
:mod:`slmswap.doctor`, :mod:`slmswap.serving`) export more, for advanced use; the names listed here are the
stable ones.

Each public name is listed once: in the ``TYPE_CHECKING`` block below, as an explicit re-export
(``from HOME import NAME as NAME``) that type checkers read. At run time the same block is read from this
file's source to build ``__all__`` and the lazy lookup, so the two cannot drift apart.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap._version import __version__ as __version__

if TYPE_CHECKING:
    from slmswap.bakeoff import BakeoffOptions as BakeoffOptions, run_bakeoff as run_bakeoff
    from slmswap.curation import curate as curate
    from slmswap.data import (
        LoadResult as LoadResult,
        load_bfcl as load_bfcl,
        load_bfcl_wheel as load_bfcl_wheel,
        load_conversations as load_conversations,
        load_demo_dataset as load_demo_dataset,
        load_hermes as load_hermes,
        load_openai as load_openai,
        load_prompt_completion as load_prompt_completion,
        load_sharegpt as load_sharegpt,
        load_xlam as load_xlam,
    )
    from slmswap.doctor import DoctorReport as DoctorReport, diagnose as diagnose
    from slmswap.errors import (
        BackendError as BackendError,
        CheckError as CheckError,
        ConfigError as ConfigError,
        DataError as DataError,
        FormatError as FormatError,
        ModelError as ModelError,
        SlmswapError as SlmswapError,
        TemplateError as TemplateError,
    )
    from slmswap.evaluation import (
        Backend as Backend,
        EvaluationResult as EvaluationResult,
        Generation as Generation,
        Prompt as Prompt,
        Run as Run,
        TransformersBackend as TransformersBackend,
        evaluate as evaluate,
        evaluate_into as evaluate_into,
        load_run_dir as load_run_dir,
        write_report as write_report,
    )
    from slmswap.evaluation.openai import OpenAIBackend as OpenAIBackend
    from slmswap.evaluation.vllm import VLLMBackend as VLLMBackend
    from slmswap.formats import (
        ChatFormat as ChatFormat,
        ParseResult as ParseResult,
        available_formats as available_formats,
        get_format as get_format,
        register_format as register_format,
    )
    from slmswap.gateway import load_traffic as load_traffic
    from slmswap.live import live_verdict as live_verdict
    from slmswap.metrics import (
        Metric as Metric,
        MetricsReport as MetricsReport,
        compare as compare,
        default_metrics as default_metrics,
        require_better as require_better,
    )
    from slmswap.models import (
        DEFAULT_MODEL as DEFAULT_MODEL,
        load_model as load_model,
        load_tokenizer as load_tokenizer,
    )
    from slmswap.schema import Conversation as Conversation, Message as Message, Tool as Tool, ToolCall as ToolCall
    from slmswap.serving import export as export, serve as serve, serving_parity as serving_parity
    from slmswap.templates import lint_template as lint_template, prepare_dataset as prepare_dataset
    from slmswap.train import TrainConfig as TrainConfig, Trainer as Trainer
    from slmswap.trained import Manifest as Manifest, load_trained as load_trained


def _homes() -> dict[str, str]:
    """Name -> the module that defines it, read from the ``TYPE_CHECKING`` block of this file."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    return {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names
    }


_HOMES = _homes()
__all__ = sorted([*_HOMES, "__version__"])
_ROOT = Path(__file__).parent


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        if name.isidentifier() and ((_ROOT / name).is_dir() or (_ROOT / f"{name}.py").is_file()):
            return importlib.import_module(f"slmswap.{name}")  # slmswap.metrics.flatten after "import slmswap"
        raise AttributeError(f"module 'slmswap' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
