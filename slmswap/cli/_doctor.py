"""``slmswap doctor``: the production checklist, on a job config, data, a training output and/or runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command, add_model_arguments, count, is_trained, setup_for
from slmswap.doctor import DoctorReport, diagnose
from slmswap.evaluate.rundir import load_run_dir
from slmswap.formats.registry import resolve_format
from slmswap.schema import Conversation
from slmswap.templates.tokenize import TokenizeOptions
from slmswap.train.job import TrainJob, load_data


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


def diagnose_args(args: argparse.Namespace) -> DoctorReport:
    """Run the doctor on what the command line names: the setup checks when a job, data, a model, a format or a
    training output is named, the outcome checks when an output or runs are."""
    job = TrainJob.from_yaml(args.config) if args.config else None
    output = args.output
    if output is None and job is not None and is_trained(str(job.config.output_dir)):
        output = str(job.config.output_dir)
    conversations: list[Conversation] | None = None
    tokenizer = fmt = None
    options = TokenizeOptions()
    if job is not None:
        tokenizer = job.load_tokenizer()
        fmt = job.load_format(tokenizer) if args.format is None else resolve_format(args.format, tokenizer=tokenizer)
        conversations = job.load_train()
        options = job.config.tokenize_options()
    elif args.data or args.model or args.format or output:
        # A training output's own tokenizer and format are checked unless another model is named.
        trained = output is not None and args.model is None and is_trained(output)
        tokenizer, fmt = setup_for(output if trained else args.model, args.format)
    if args.data:
        conversations = load_data(args.data)
    return diagnose(
        tokenizer=tokenizer,
        fmt=fmt,
        conversations=conversations,
        options=options if args.max_length is None else options.model_copy(update={"max_length": args.max_length}),
        output_dir=Path(output) if output else None,
        runs=[load_run_dir(run) for run in args.run],
        baseline=load_run_dir(args.baseline) if args.baseline else None,
        samples=args.samples,
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
    "held-out accuracy is above zero (with sample outputs to read), and a baseline saw the very same prompts.\n\n"
    "Exit code 1 when a check fails.",
    _arguments,
    _doctor,
)
