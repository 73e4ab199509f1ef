"""Benchmark: the evaluator's generation on the demo's 40 held-out prompts, new path vs the previous one, interleaved.

  (a) previous: batches of 16, answers up to the demo's former fixed cap of 96 tokens;
  (b) previous batching with the new answer budget (the longest reference answer + a margin);
  (c) new: as many prompts per batch as fit the cache budget (all 40 here), the new answer budget;

run alternately (a, b, c, a, b, c, ...) on one loaded model, so machine load falls on all alike. It checks that
(b) and (c) give identical answers and that each answer of (c) and of (a) differ only in where their budgets
stopped them (one is the beginning of the other), says whether the strict parse of each scores alike, and prints
examples/s and the ratios.

    python benchmarks/generate.py --out benchmarks/results/generate.json
    python benchmarks/generate.py --model slmswap-demo/adapter    # a trained model (its format from the manifest)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    import slmswap
    from slmswap.data.demo import load_demo_dataset
    from slmswap.evaluation import TransformersBackend
    from slmswap.evaluation.prompts import answer_budget, eval_items
    from slmswap.evaluation.runner import parse_generation, scored_example
    from slmswap.formats import get_format
    from slmswap.metrics import default_metrics

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=40, help="held-out demo prompts (default 40, as the demo)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=None, help="a training output directory (default: the base model)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/generate.json"))
    args = parser.parse_args()

    model: Any
    if args.model:
        from slmswap.train import load_trained

        model, tokenizer, fmt, _ = load_trained(args.model)
    else:
        tokenizer, fmt = slmswap.load_tokenizer(), get_format("hermes")
        model = slmswap.load_model().eval()
    items, _ = eval_items(load_demo_dataset("test")[: args.prompts], tokenizer, fmt)
    prompts = [item.prompt for item in items]
    budget = answer_budget(items, tokenizer, fmt)
    lengths = [len(tokenizer(p.text, add_special_tokens=False)["input_ids"]) for p in prompts]
    paths = {
        "previous": TransformersBackend(model, tokenizer, batch_size=16, max_new_tokens=96),
        "previous_budget": TransformersBackend(model, tokenizer, batch_size=16, max_new_tokens=budget),
        "new": TransformersBackend(model, tokenizer, max_new_tokens=budget),
    }
    seconds = dict.fromkeys(paths, 0.0)
    answers: dict[str, list[Any]] = {}
    for round_ in range(args.rounds):
        for name, backend in paths.items():
            started = time.perf_counter()
            answers[name] = backend.generate(prompts)
            took = time.perf_counter() - started
            seconds[name] += took
            print(f"round {round_ + 1} {name:<16} {took:6.1f} s", flush=True)

    texts = {name: [g.text for g in generations] for name, generations in answers.items()}
    metrics = default_metrics()

    def scores(name: str) -> list[dict[str, float | None]]:
        rows = []
        for item, generation in zip(items, answers[name], strict=True):
            example = scored_example(item, parse_generation(generation, fmt, item)[1])
            rows.append({m.name: m.score(example) for m in metrics})
        return rows

    result = {
        "prompts": len(prompts),
        "answer_budget": budget,
        "batches_new": len(paths["new"]._batches(sorted(range(len(prompts)), key=lengths.__getitem__), lengths)),
        "examples_per_s": {name: args.rounds * len(prompts) / s for name, s in seconds.items()},
        "new_vs_previous": seconds["previous"] / seconds["new"],
        "new_vs_previous_same_budget": seconds["previous_budget"] / seconds["new"],
        "identical_to_previous_same_budget": texts["new"] == texts["previous_budget"],
        "prefix_of_previous": all(
            b.startswith(n) or n.startswith(b) for n, b in zip(texts["new"], texts["previous"], strict=True)
        ),
        "scores_equal_previous": scores("new") == scores("previous"),
        "capped_previous": sum(g.tokens >= 96 for g in answers["previous"]),
    }
    print(
        f"{len(prompts)} prompts, answers up to {budget} tokens: new {result['examples_per_s']['new']:.2f} examples/s, "
        f"previous {result['examples_per_s']['previous']:.2f} ({result['capped_previous']} answers ran to 96 tokens)"
    )
    print(f"new vs previous: {result['new_vs_previous']:.2f}x; vs previous batching, same budget: "
          f"{result['new_vs_previous_same_budget']:.2f}x")  # fmt: skip
    print(
        f"identical to the previous batching at the same budget: {result['identical_to_previous_same_budget']}; "
        f"each the previous answer, longer or shorter by the budget: {result['prefix_of_previous']}; "
        f"same scores: {result['scores_equal_previous']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**result, "seconds": seconds}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
