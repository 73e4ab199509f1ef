"""``slmswap bakeoff DATA`` (or ``slmswap bakeoff job.yaml``): the format bake-off in one command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command, count, progress_bar


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data",
        metavar="DATA|JOB.yaml",
        help="training data (any supported shape, demo:train, a traffic store), or a YAML job whose keys are the "
        "options below (options given here replace the file's)",
    )
    parser.add_argument(
        "--formats",
        default=None,
        help="comma-separated chat formats to compare (default: hermes,cep,xml,structured)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: slmswap-bakeoff)")
    parser.add_argument(
        "--test",
        default=None,
        help="held-out data (default: demo:test for demo data, else the last --test-examples of DATA)",
    )
    parser.add_argument("--model", default=None, help="the model every format fine-tunes (default: the embedded one)")
    parser.add_argument("--steps", type=count, default=None, help="LoRA steps (default: 48)")
    parser.add_argument("--batch-size", type=count, default=None, help="training examples per step (default: 2)")
    parser.add_argument("--learning-rate", type=float, default=None, help="peak learning rate (default: 2e-3)")
    parser.add_argument("--train-examples", type=count, default=None, help="train on the first N conversations")
    parser.add_argument("--test-examples", type=count, default=None, help="held-out conversations (default: 40)")
    parser.add_argument(
        "--max-new-tokens",
        type=count,
        default=None,
        help="longest answer (default: per format, longest reference + a margin)",
    )
    parser.add_argument(
        "--constrained",
        action="store_true",
        default=None,
        help="decode within each format's grammar (needs the 'constrained' extra)",
    )
    parser.add_argument("--threads", type=count, default=None, help="torch CPU threads (default: the free cores)")
    parser.add_argument("--seed", type=int, default=None, help="training seed, the same for every format (default: 42)")
    parser.add_argument(
        "--metric", default=None, help="primary metric to rank by (default: arguments_exact_match, else exact_match)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 4 steps, 32 training and 8 held-out conversations, answers up to 48 tokens (sizes "
        "given as options win)",
    )
    api = parser.add_argument_group("LLM baseline", "also evaluate an OpenAI-compatible API with each format's prompt")
    api.add_argument("--api-base", metavar="URL", default=None, help="e.g. https://api.openai.com/v1")
    api.add_argument("--api-model", metavar="NAME", default=None, help="the API's model name")
    api.add_argument("--api-key-env", default=None, help="variable holding the key (default: OPENAI_API_KEY)")


def _bakeoff(args: argparse.Namespace) -> int:
    from slmswap.bakeoff import BakeoffOptions, run_bakeoff
    from slmswap.bakeoff.options import QUICK, split_formats

    given: dict[str, Any] = {
        key: value
        for key, value in vars(args).items()
        if value is not None and key not in ("data", "quick", "command", "handler", "verbose")
    }
    if args.quick:
        given = {**QUICK, **given}  # sizes given with --quick win
    if "formats" in given:
        given["formats"] = split_formats(given["formats"])
    if args.data.endswith((".yaml", ".yml")):
        options = BakeoffOptions.from_yaml(args.data, **given)
    else:
        options = BakeoffOptions(data=args.data, **given)
    result = run_bakeoff(options, progress=progress_bar)
    failed = [outcome.format for outcome in result.formats if not outcome.ok]
    if failed:
        print(f"failed: {', '.join(failed)} (their errors are in the report and in each format's error.txt)")
    return EXIT_OK if result.ok else EXIT_CHECK


BAKEOFF = Command(
    "bakeoff",
    "which chat format to fine-tune in: train and evaluate every format with one recipe, ranked with paired tests",
    "For each format (--formats): evaluate the base model with the format's prompts, fine-tune with LoRA on the "
    "same data with the same recipe and seed, and evaluate the tuned model (and, with --api-base, an LLM given "
    "the format's prompts) on the same held-out conversations. The report (OUT/report.md, OUT/report.html, "
    "OUT/bakeoff.json) ranks the formats by the primary metric with 95 % intervals, compares every pair example by "
    "example (paired interval, McNemar, Holm's correction over the pairs), tuned against base per format, and "
    "per tool. Each format lives in OUT/<format>/; running the command again resumes, skipping what finished. A "
    "format that fails is recorded with its error (OUT/<format>/error.txt) and the others go on: exit code 1 when "
    "any format failed.",
    _arguments,
    _bakeoff,
)
