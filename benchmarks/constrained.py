"""Benchmark: constrained vs free decoding on the demo test set, base and tuned model, in one run.

Evaluates each model twice on the same prompts, decoding freely and within the format's grammar for the offered
tools (``evaluate(..., constrained=True)``), and reports per model: the time per generated token of each and the
overhead of the constrained one (target: at most 10 %), ``valid_call`` (the reference calls and the output is a
well-formed call of the format), and every metric side by side with the paired difference and its 95 %
interval. The run directories are kept under ``--runs``.

    python benchmarks/constrained.py --tuned slmswap-demo/adapter --out benchmarks/results/constrained.json
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any


def main() -> None:
    import slmswap
    from slmswap.data.demo import load_demo_dataset
    from slmswap.evaluation import TransformersBackend, evaluate_into
    from slmswap.metrics import compare
    from slmswap.trained.load import load_trained

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tuned", type=Path, help="a demo training output (slmswap demo's OUT/adapter)")
    parser.add_argument("--skip-base", action="store_true", help="only the tuned model")
    parser.add_argument("--limit", type=int, default=None, help="first N test examples (default: all 40)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--runs", type=Path, default=Path("benchmarks/results/constrained-runs"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/constrained.json"))
    args = parser.parse_args()

    test = load_demo_dataset("test")[: args.limit]
    models: list[tuple[str, Any, Any, Any]] = []
    if not args.skip_base:
        tokenizer = slmswap.load_tokenizer()
        models.append(("base", slmswap.load_model().eval(), tokenizer, slmswap.get_format("hermes")))
    if args.tuned is not None:
        model, tokenizer, fmt, _ = load_trained(args.tuned)
        models.append(("tuned", model.eval(), tokenizer, fmt))
    if not models:
        parser.error("nothing to run: give --tuned, or leave out --skip-base")
    result: dict[str, Any] = {"examples": len(test), "max_new_tokens": args.max_new_tokens, "models": {}}
    for label, model, tokenizer, fmt in models:
        backend = TransformersBackend(model, tokenizer, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)
        runs, entry = {}, {}
        for constrained in (False, True):
            name = f"{label}-{'constrained' if constrained else 'free'}"
            directory = args.runs / name
            shutil.rmtree(directory, ignore_errors=True)
            run = evaluate_into(directory, test, backend.generate, tokenizer, fmt, model=label, constrained=constrained)
            tokens = sum(record.tokens for record in run.records)
            seconds = sum(record.seconds for record in run.records)
            valid = run.result.metrics.values["valid_call"].value
            runs[constrained] = run
            entry[name] = {
                "tokens": tokens,
                "seconds": seconds,
                "ms_per_token": 1000 * seconds / max(tokens, 1),
                "valid_call": valid,
                "metrics": {n: v.value for n, v in run.result.metrics.values.items()},
            }
            print(f"{name}: {tokens} tokens in {seconds:.1f} s, valid_call {valid:.2f}", flush=True)
        free, bound = entry[f"{label}-free"], entry[f"{label}-constrained"]
        overhead = bound["ms_per_token"] / free["ms_per_token"] - 1
        entry["per_token_overhead"] = overhead
        entry["paired"] = [row.model_dump() for row in compare(runs[False].result.metrics, runs[True].result.metrics)]
        result["models"][label] = entry
        print(f"{label}: per-token overhead of constrained decoding {overhead:+.1%} (target: at most +10 %)")
        for row in entry["paired"]:
            print(
                f"  {row['metric']}: free {free['metrics'].get(row['metric'], float('nan')):.3f} -> constrained "
                f"{bound['metrics'].get(row['metric'], float('nan')):.3f}, difference {row['difference']:+.3f} "
                f"[{row['low']:+.3f}, {row['high']:+.3f}]"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
