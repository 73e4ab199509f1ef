"""``slmswap demo``: the end-to-end demo on the embedded default model."""

from __future__ import annotations

import argparse
from pathlib import Path

from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command, count, progress_bar

_QUICK = {"steps": 8, "train_examples": 64, "test_examples": 8, "max_new_tokens": 64, "curve_points": 3}
"""``--quick``: the main job in about two minutes on two idle cores (constrained decoding for both runs, as by
default): the
tuned model makes valid calls where the base model makes none (significant on 8 examples), but 8 held-out
examples are too few to judge its accuracy (the doctor says so rather than fail it)."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    from slmswap.demo import DemoOptions

    defaults = DemoOptions()
    parser.add_argument("--out", type=Path, default=defaults.out, help="output directory (default: %(default)s)")
    parser.add_argument("--format", default=defaults.format, help="chat format (default: %(default)s)")
    parser.add_argument("--steps", type=count, default=defaults.steps, help="LoRA steps (default: %(default)s)")
    parser.add_argument("--batch-size", type=count, default=defaults.batch_size, help="default: %(default)s")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="default: %(default)s")
    parser.add_argument(
        "--train-examples", type=count, default=None, help="use the first N of the 320 training examples"
    )
    parser.add_argument(
        "--test-examples", type=count, default=defaults.test_examples, help="held-out examples (default: %(default)s)"
    )
    parser.add_argument(
        "--max-new-tokens", type=count, default=None, help="longest answer (default: longest reference + a margin)"
    )
    parser.add_argument(
        "--threads",
        type=count,
        default=None,
        help="torch CPU threads (default: the free cores, followed as they change)",
    )
    parser.add_argument(
        "--constrained",
        action=argparse.BooleanOptionalAction,
        default=defaults.constrained,
        help="evaluate base and tuned with constrained decoding, as a deployed swap's guided decoding would "
        "(needs the 'constrained' extra, which examples/demo.sh installs; default: on)",
    )
    parser.add_argument(
        "--curve-points",
        type=count,
        default=defaults.curve_points,
        help="held-out scorings while training, the points of the report's curves (default: %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run (about two minutes): {_QUICK['steps']} steps on {_QUICK['train_examples']} examples, "
        f"{_QUICK['test_examples']} held-out examples (overrides sizes)",
    )


def _demo(args: argparse.Namespace) -> int:
    from slmswap.demo import DemoOptions, run_demo

    sizes = {
        "steps": args.steps,
        "train_examples": args.train_examples,
        "test_examples": args.test_examples,
        "max_new_tokens": args.max_new_tokens,
        "curve_points": args.curve_points,
    }
    if args.quick:
        sizes.update(_QUICK)
    options = DemoOptions(
        out=args.out,
        format=args.format,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        constrained=args.constrained,
        threads=args.threads,
        **sizes,
    )
    outcome = run_demo(options, progress=progress_bar)
    return EXIT_OK if outcome.doctor.ok else EXIT_CHECK


DEMO = Command(
    "demo",
    "the main job: doctor, evaluate the base model, fine-tune with LoRA, evaluate again, report (no network)",
    "On the embedded SmolLM2-135M-Instruct and the bundled demo dataset: run the doctor, evaluate the base "
    "model on the held-out split, fine-tune with LoRA, evaluate the result with the format restored from its "
    "manifest, and write a report comparing base and tuned with 95 % intervals. About ten minutes on two CPU "
    "cores with the defaults; --quick for a short run, --steps and the example counts to make it longer or "
    "shorter, --format to try another chat format. Exit code 1 when the doctor finds a failure.",
    _arguments,
    _demo,
)
