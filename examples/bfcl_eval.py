"""Evaluate the base model, or a fine-tuned output, on a category of the Berkeley Function Calling Leaderboard.

BFCL's questions and answers ship in the ``bfcl-eval`` wheel, which is read as a zip file (never installed).
Download it once, then evaluate; ``bfcl_ast_match`` is the leaderboard's own AST verdict (its checker's rules,
cross-checked against its code), ``abstention`` what the irrelevance categories measure::

    pip download --no-deps bfcl-eval==2026.3.23 -d wheels/
    python examples/bfcl_eval.py --wheel wheels/bfcl_eval-2026.3.23-py3-none-any.whl --limit 50
    python examples/bfcl_eval.py --wheel wheels/bfcl_eval-*.whl --category parallel --model quickstart-out/model

The single-turn categories are scored: ``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``,
``live_simple``, ..., and ``irrelevance`` / ``live_irrelevance`` (where no function fits: the right answer makes no
call).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import slmswap
from slmswap.evaluation import TransformersBackend, evaluate, load_run, report_summary, write_report
from slmswap.formats import get_format
from slmswap.train import load_trained

HOW_TO_GET_THE_WHEEL = (
    "BFCL's data comes from the bfcl-eval wheel; download it (nothing is installed) with\n"
    "    pip download --no-deps bfcl-eval==2026.3.23 -d wheels/\n"
    "and pass --wheel wheels/bfcl_eval-2026.3.23-py3-none-any.whl"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="the bfcl_eval-*.whl file")
    parser.add_argument("--category", default="simple_python", help="BFCL category (default: simple_python)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N questions")
    parser.add_argument("--model", type=Path, help="a training output directory (default: the base model)")
    parser.add_argument("--format", default="hermes", help="chat format for the base model (default: hermes)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="longest answer")
    parser.add_argument("--out", type=Path, default=Path("bfcl-out"), help="records, results and report")
    parser.add_argument("--fast", action="store_true", help="3 questions, 64-token answers (a smoke run)")
    args = parser.parse_args(argv)
    if args.wheel is None or not args.wheel.is_file():
        print(
            f"no wheel at {args.wheel}\n{HOW_TO_GET_THE_WHEEL}" if args.wheel else HOW_TO_GET_THE_WHEEL, file=sys.stderr
        )
        return 2

    data = list(slmswap.load_bfcl_wheel(args.wheel, args.category))
    limit = 3 if args.fast else args.limit
    data = data[:limit] if limit else data
    if args.model:  # a fine-tuned output is evaluated in the format it was trained with
        model, tokenizer, fmt, _ = load_trained(args.model)
    else:
        model, tokenizer, fmt = slmswap.load_model(), slmswap.load_tokenizer(), get_format(args.format)  # in eval mode
    label = f"{args.model or slmswap.DEFAULT_MODEL} on BFCL {args.category}"
    directory = args.out / args.category
    records, results = directory / "records.jsonl", directory / "results.json"
    records.unlink(missing_ok=True)  # the model may have changed since an earlier run: answer afresh
    generator = TransformersBackend(model, tokenizer, max_new_tokens=64 if args.fast else args.max_new_tokens)
    result = evaluate(data, generator.generate, tokenizer, fmt, records=records, results=results)
    print(f"{result.examples} questions evaluated, skipped: {result.skipped or 'none'}")
    run = load_run(label, records, results)
    paths = write_report([run], directory, title=label)
    print(report_summary([run]))
    print(f"full report (worst examples, parse failures): {paths['markdown']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
