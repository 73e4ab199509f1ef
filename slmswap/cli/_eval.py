"""``slmswap eval``, ``slmswap compare`` and ``slmswap report``: evaluation runs as directories."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._threads import cpu_phase
from slmswap.cli._common import (
    EXIT_CHECK,
    EXIT_OK,
    Command,
    add_model_arguments,
    count,
    progress_bar,
)
from slmswap.data.named import load_data
from slmswap.errors import ConfigError, DataError
from slmswap.evaluation.choice import choose_backend
from slmswap.evaluation.gap_report import gap_section, gaps
from slmswap.evaluation.report import Run, report_summary
from slmswap.evaluation.report_files import ReportSection, write_report
from slmswap.evaluation.rundir import evaluate_into, load_run_dir
from slmswap.evaluation.runner import PROMPTS_PER_CALL
from slmswap.metrics import require_better
from slmswap.metrics.gap import DEFAULT_MARGIN, gap_closed

if TYPE_CHECKING:
    pass


def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="held-out data (any supported shape), or demo:test")
    parser.add_argument("--out", metavar="DIR", required=True, help="run directory: records.jsonl, results.json")
    add_model_arguments(parser)
    parser.add_argument(
        "--override", action="store_true", help="allow another format or template than the trained one (unwise)"
    )
    parser.add_argument("--limit", type=count, default=None, help="evaluate only the first N examples")
    parser.add_argument(
        "--batch-size",
        type=count,
        default=None,
        help="prompts generated together (default: as many as fit 1 GiB of cache)",
    )
    parser.add_argument("--max-new-tokens", type=count, default=256, help="longest answer (default: 256)")
    parser.add_argument(
        "--threads",
        type=count,
        default=None,
        help="torch CPU threads (default: the free cores, followed as they change)",
    )
    parser.add_argument(
        "--constrained",
        action="store_true",
        help="decode within the format's grammar for the offered tools: well-formed calls of offered tools with "
        "declared arguments, or plain text (needs the 'constrained' extra; local models only)",
    )
    api = parser.add_argument_group(
        "LLM baseline", "answer with an OpenAI-compatible API instead, given the very prompt --model's format renders"
    )
    api.add_argument("--api-base", metavar="URL", help="e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
    api.add_argument("--api-model", metavar="NAME", help="the API's model (Azure: deployment) name")
    api.add_argument("--api-key-env", default="OPENAI_API_KEY", help="variable holding the key (default: %(default)s)")
    api.add_argument("--api-version", default=None, help="Azure OpenAI API version (switches to Azure's URLs)")
    api.add_argument("--concurrency", type=count, default=8, help="requests in flight (default: 8)")


@contextmanager
def _located(source: str) -> Iterator[None]:
    """A data error that names no file names the data the command was given."""
    try:
        yield
    except DataError as exc:
        if exc.source is None:
            raise exc.located(source=source, line=exc.line, index=exc.index) from None
        raise


def _eval(args: argparse.Namespace) -> int:
    conversations = load_data(args.data)[: args.limit]
    choice = choose_backend(
        model=args.model,
        format=args.format,
        override=args.override,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        api_base=args.api_base,
        api_model=args.api_model,
        api_key_env=args.api_key_env,
        api_version=args.api_version,
        concurrency=args.concurrency,
        constrained=args.constrained,
        threads=args.threads,
    )
    decoding = ", constrained" if args.constrained else ""
    local: AbstractContextManager[object] = (
        cpu_phase(args.threads, name="evaluation") if args.api_base is None else nullcontext()
    )
    description = f"evaluating {choice.name} ({choice.fmt.name}{decoding})"
    with local, progress_bar(description) as advance, _located(args.data):
        run = evaluate_into(
            args.out,
            conversations,
            choice.generate,
            choice.tokenizer,
            choice.fmt,
            model=choice.name,
            batch_size=args.batch_size or PROMPTS_PER_CALL,  # the backend sizes its own batches when not given
            progress=advance,
            constrained=args.constrained,
        )
    print(report_summary([run]))
    print(f"records and results in {args.out}")
    return EXIT_OK


EVAL = Command(
    "eval",
    "evaluate a model, a training output or an OpenAI-compatible LLM on held-out data into a run directory",
    "Render each example's prompt exactly as in training, generate, parse strictly and score. A training "
    "output is evaluated with the format it was trained with (another is refused without --override). With "
    "--api-base, an LLM answers the very prompt --model's format renders (prompt parity). Every example is "
    "recorded as it completes; running the same command again resumes.",
    _eval_arguments,
    _eval,
)


def _run(spec: str) -> Run:
    """``DIR`` or ``LABEL=DIR`` (a directory whose name holds ``=`` is taken as it is)."""
    if Path(spec).is_dir():
        return load_run_dir(spec)
    label, separator, directory = spec.partition("=")
    return load_run_dir(directory, label) if separator else load_run_dir(spec)


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", metavar="BASELINE", help="run directory of the baseline (LABEL=DIR to name it)")
    parser.add_argument("run", metavar="RUN", help="run directory compared with it (LABEL=DIR to name it)")
    parser.add_argument(
        "--require-better",
        action="store_true",
        help="exit 1 unless RUN beats BASELINE on --metric with a paired interval excluding zero",
    )
    parser.add_argument(
        "--metric",
        default=None,
        help="the metric --require-better and --llm judge (default: argument exact match, else exact match)",
    )
    _gap_arguments(parser, "the LLM's run directory: also give the gap RUN closes from BASELINE to it")


def _gap_arguments(parser: argparse.ArgumentParser, llm_help: str) -> None:
    parser.add_argument("--llm", metavar="RUN", default=None, help=llm_help)
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help=f"with --llm: how far below the LLM still counts as within its margin (default: {DEFAULT_MARGIN})",
    )


def _compare(args: argparse.Namespace) -> int:
    baseline, run = _run(args.baseline), _run(args.run)
    print(report_summary([baseline, run]))
    if args.llm is not None:
        llm = _run(args.llm)
        metrics = baseline.result.metrics, run.result.metrics, llm.result.metrics
        gap = gap_closed(*metrics, metric=args.metric, margin=args.margin)
        print(gap.describe(baseline.label, run.label, llm.label))
    if not args.require_better:
        return EXIT_OK
    verdict = require_better(baseline.result.metrics, run.result.metrics, metric=args.metric)
    print(verdict.describe(baseline.label, run.label))
    return EXIT_OK if verdict.better else EXIT_CHECK


COMPARE = Command(
    "compare",
    "compare two runs example by example (paired bootstrap interval, McNemar test)",
    "Pair the examples both runs scored and show, per metric, the difference with its 95 % paired-bootstrap "
    "interval and the exact McNemar p-value. With --require-better, exit 1 unless RUN is significantly better. "
    "With --llm, also the gap RUN closes from BASELINE towards the LLM, (RUN - BASELINE) / (LLM - BASELINE), with "
    "its paired interval, and whether RUN stays within --margin of the LLM.",
    _compare_arguments,
    _compare,
)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories, baseline first (LABEL=DIR to name)")
    parser.add_argument("--out", metavar="DIR", required=True, help="where report.md and report.html go")
    parser.add_argument("--title", default="slmswap evaluation report", help="the report's title")
    parser.add_argument(
        "--training",
        metavar="DIR",
        help="a training output directory: its history.jsonl gives the training curves (loss, held-out metrics)",
    )
    parser.add_argument(
        "--curation",
        metavar="DIR",
        help="a 'slmswap curate' output (or its curation.json): the curation section, each run's agreement with "
        "the labels next to the LLM's agreement with itself",
    )
    _gap_arguments(
        parser, "which RUN is the LLM (its label or directory): the gap each other run closes from the first"
    )


def _sections(args: argparse.Namespace, runs: list[Run]) -> list[ReportSection]:
    """The curation and gap-closed sections the options ask for."""
    sections = []
    llm_labels = False
    if args.curation:
        from slmswap.curation import read_curation
        from slmswap.curation.section import curation_section

        curation = read_curation(args.curation)
        llm_labels = curation.labels == "recorded"
        sections.append(curation_section(curation, runs))
    if args.llm is not None:
        llm = next((run for run, spec in zip(runs, args.runs, strict=True) if args.llm in (run.label, spec)), None)
        if llm is None:
            raise ConfigError(f"--llm {args.llm}: no such RUN among {', '.join(run.label for run in runs)}")
        rows = gaps(runs, llm, metric=None, margin=args.margin)
        sections.append(gap_section(runs[0], llm, rows, llm_labels=llm_labels))
    return sections


def _report(args: argparse.Namespace) -> int:
    runs = [_run(spec) for spec in args.runs]
    history = None
    if args.training:
        from slmswap.trained.history import HISTORY_FILE, read_history

        history = read_history(args.training)
        if not history.entries:
            raise ConfigError(f"{args.training}: no {HISTORY_FILE} with logged steps here (is it a training output?)")
    paths = write_report(runs, Path(args.out), title=args.title, history=history, sections=_sections(args, runs))
    print(report_summary(runs))
    print(f"wrote {paths['markdown']} and {paths['html']}")
    return EXIT_OK


REPORT = Command(
    "report",
    "write a Markdown and HTML report of runs (intervals, paired comparisons, failures, worst examples)",
    "Build the report from run directories alone: every metric with its 95 % interval, each run compared with "
    "the first (the baseline), the breakdown of parse failures and issues, and the worst examples with their raw "
    "output diffed against the reference; with --training, the training curves too; with --curation, the "
    "curation section (what the labels are, what was dropped, the leakage avoided, the LLM's agreement with "
    "itself); with --llm, the gap each run closes towards the LLM.",
    _report_arguments,
    _report,
)

COMMANDS = (EVAL, COMPARE, REPORT)
