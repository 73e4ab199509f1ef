"""``slmswap doctor``: the production checklist, on a job config, data, a training output and/or runs."""

from __future__ import annotations

import argparse

from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command, add_model_arguments, count
from slmswap.doctor import DoctorReport, diagnose_paths


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="YAML", help="a training job (slmswap train's YAML): model, format, data")
    parser.add_argument("--data", help="training data to check (any supported shape, or demo:train)")
    add_model_arguments(parser)
    parser.add_argument("--max-length", type=count, default=None, help="token limit the data will be trained with")
    parser.add_argument("--output", metavar="DIR", help="a training output directory (holds slmswap.json)")
    parser.add_argument(
        "--run", metavar="DIR", action="append", default=[], help="an evaluation run of the fine-tuned model"
    )
    parser.add_argument("--baseline", metavar="DIR", help="the evaluation run of what it replaces (LLM or base)")
    parser.add_argument("--samples", type=count, default=3, help="raw outputs shown per run (default: 3)")
    parser.add_argument("--api-base", metavar="URL", help="a server running the exported --output (serving parity)")
    parser.add_argument("--api-model", metavar="NAME", help="that server's model name (default: the --output path)")


def diagnose_args(args: argparse.Namespace) -> DoctorReport:
    """The doctor on what the command line names (see :func:`slmswap.doctor.diagnose_paths`)."""
    return diagnose_paths(
        config=args.config,
        data=args.data,
        model=args.model,
        format=args.format,
        max_length=args.max_length,
        output=args.output,
        runs=args.run,
        baseline=args.baseline,
        samples=args.samples,
        api_base=args.api_base,
        api_model=args.api_model,
    )


def _doctor(args: argparse.Namespace) -> int:
    report = diagnose_args(args)
    print(report.render())
    return EXIT_OK if report.ok else EXIT_CHECK


DOCTOR = Command(
    "doctor",
    "check a setup, a training output and evaluation runs against the production checklist",
    "Each check passes, warns or fails with the reason and the fix: special tokens are real, conversations "
    "render through the model's own chat template, the evaluation prompt is token for token the training text, "
    "the end-of-turn token is trained, no target is truncated, the adapter is evaluated with its trained format, "
    "held-out accuracy is above zero (judged on 29 examples or more; with sample outputs to read), and a baseline "
    "saw the very same prompts.\n\n"
    "Exit code 1 when a check fails.",
    _arguments,
    _doctor,
)
