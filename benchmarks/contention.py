"""Benchmark: the torch thread policy beside a neighbour. The demo's base evaluation (16 held-out prompts, the
demo's answer budget) and 6 LoRA training steps of 2 examples (their wall time, without setup and saving), each run

  beside no neighbour (idle), a CPU-bound neighbour (one process busy on one core), and a bursty neighbour
  (busy 0.5 s, idle 0.5 s), all three started by the benchmark itself,

with the adaptive policy (the default: the free cores, re-checked while the work runs) and with 1 and 2 fixed
threads, interleaved (within each neighbour the three counts take turns, their order rotated each round, so
drifting load falls on all alike). It prints each run's seconds, the adaptive policy against the better fixed
count under each neighbour (goal: within 15 %), and its slowdown beside the CPU-bound neighbour against idle
(goal: at most 2.5x), and writes them with every run's thread record (counts used, each change) as JSON.

The numbers mean something only on a machine with nothing else running: the load average before and after is in
the JSON (``load_average``), and a warning is printed when it was above 1.5 at the start.

    python benchmarks/contention.py --out benchmarks/results/contention.json
    python benchmarks/contention.py --prompts 2 --steps 1 --max-new-tokens 8 --rounds 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

NEIGHBOURS = {
    "idle": None,
    "busy": "while True: pass",
    "bursty": "import time\nwhile True:\n    t = time.perf_counter()\n    while time.perf_counter() - t < 0.5: pass\n"
    "    time.sleep(0.5)",
}
"""What runs beside the work: nothing, one core kept busy, one core busy half of each second."""

POLICIES: dict[str, int | None] = {"adaptive": None, "fixed 1": 1, "fixed 2": 2}


@contextmanager
def _neighbour(code: str | None) -> Iterator[None]:
    if code is None:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(1.0)  # running before the work starts, as a neighbour would be
        yield
    finally:
        process.kill()
        process.wait()


def _evaluate(model: Any, tokenizer: Any, prompts: list[Any], budget: int, threads: int | None) -> dict[str, Any]:
    from slmswap._threads import cpu_phase
    from slmswap.evaluation.generation import TransformersBackend

    backend = TransformersBackend(model, tokenizer, max_new_tokens=budget, threads=threads)
    with cpu_phase(threads, name="evaluation") as policy:  # the backend's own phase joins it
        started = time.perf_counter()
        generations = backend.generate(prompts)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "tokens": sum(g.tokens for g in generations), "threads": policy.record()}


def _train(tokenizer: Any, train: list[Any], steps: int, threads: int | None, out: Path) -> dict[str, Any]:
    from transformers import TrainerCallback

    from slmswap.models import load_model
    from slmswap.train import TrainConfig, Trainer

    config = TrainConfig(
        output_dir=out,
        max_steps=steps,
        batch_size=2,
        learning_rate=2e-3,
        logging_steps=max(1, steps),
        threads=threads,
        checkpoints=False,
    )

    class Clock(TrainerCallback):
        """The steps' wall time: from the first step's start to the last one's end (no setup, no saving)."""

        begun = ended = 0.0

        def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
            self.begun = time.perf_counter()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.ended = time.perf_counter()

    trainer = Trainer(train, model=load_model(), tokenizer=tokenizer, format="hermes", config=config)
    clock = Clock()
    trainer.train(callbacks=[clock])
    return {"seconds": clock.ended - clock.begun, "threads": trainer.threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=16, help="held-out demo prompts evaluated (default 16)")
    parser.add_argument("--steps", type=int, default=6, help="LoRA steps of 2 examples (default 6)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: the demo's answer budget")
    parser.add_argument("--rounds", type=int, default=2, help="times each run is repeated (default 2)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/contention.json"))
    args = parser.parse_args()

    import torch

    from slmswap.data.demo import load_demo_dataset
    from slmswap.evaluation.prompts import answer_budget, eval_items
    from slmswap.formats import get_format
    from slmswap.models import load_model, load_tokenizer

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name):
            sys.exit(f"{name} is set: it pins torch's count, and the adaptive policy would not adapt")
    load_before = os.getloadavg()
    if load_before[0] > 1.5:
        print(
            f"WARNING: load average {load_before[0]:.1f} at the start: the machine is not idle, the numbers are "
            "contaminated",
            flush=True,
        )
    tokenizer = load_tokenizer()
    fmt = get_format("hermes")
    items = eval_items(load_demo_dataset("test"), tokenizer, fmt)[0]
    budget = args.max_new_tokens or answer_budget(items, tokenizer, fmt)  # the demo's, from all 40 references
    prompts = [item.prompt for item in items[: args.prompts]]
    train = load_demo_dataset("train")[:64]
    model: Any = load_model()
    model.eval()
    print(
        f"{len(prompts)} prompts (answers up to {budget} tokens), {args.steps} training steps; torch default "
        f"{torch.get_num_threads()} threads on {os.cpu_count()} cores",
        flush=True,
    )

    runs: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for neighbour, code in NEIGHBOURS.items():
                names = list(POLICIES)
                names = names[round_ % len(names) :] + names[: round_ % len(names)]
                with _neighbour(code):
                    for policy in names:
                        threads = POLICIES[policy]
                        out = Path(scratch) / f"{round_}-{neighbour}-{policy.replace(' ', '')}"
                        for task in ("evaluation", "training"):
                            if task == "evaluation":
                                measured = _evaluate(model, tokenizer, prompts, budget, threads)
                            else:
                                measured = _train(tokenizer, train, args.steps, threads, out)
                            record: dict[str, Any] = {"round": round_, "neighbour": neighbour, "policy": policy}
                            record["task"] = task
                            record.update(measured)
                            runs.append(record)
                            used = "->".join(str(c["threads"]) for c in record["threads"]["changes"])
                            print(
                                f"  round {round_} {neighbour:6} {policy:8} {task:10} {record['seconds']:7.1f} s"
                                f"  threads {used}",
                                flush=True,
                            )

    def seconds(neighbour: str, policy: str, task: str | None = None) -> float:
        """Median over rounds of the run's seconds (evaluation and training together when ``task`` is None)."""
        per_round = [
            sum(
                r["seconds"]
                for r in runs
                if (r["neighbour"], r["policy"], r["round"]) == (neighbour, policy, k) and task in (None, r["task"])
            )
            for k in range(args.rounds)
        ]
        return float(statistics.median(per_round))

    summary: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    tasks: tuple[str | None, ...] = ("evaluation", "training", None)
    for part in tasks:
        label = "both" if part is None else part
        summary[label] = {n: {p: seconds(n, p, part) for p in POLICIES} for n in NEIGHBOURS}
        table = summary[label]
        ratios[label] = {
            "adaptive_vs_best_fixed": {
                n: table[n]["adaptive"] / min(table[n]["fixed 1"], table[n]["fixed 2"]) for n in NEIGHBOURS
            },
            "adaptive_busy_vs_idle": table["busy"]["adaptive"] / table["idle"]["adaptive"],
        }
    goals = {
        "adaptive_within_15_percent_of_best_fixed": all(
            value <= 1.15 for value in ratios["both"]["adaptive_vs_best_fixed"].values()
        ),
        "adaptive_busy_slowdown_at_most_2_5x": ratios["both"]["adaptive_busy_vs_idle"] <= 2.5,
    }
    load_after = os.getloadavg()
    print("\nmedian seconds (evaluation + training):")
    for neighbour in NEIGHBOURS:
        row = "  ".join(f"{p} {summary['both'][neighbour][p]:7.1f}" for p in POLICIES)
        best = ratios["both"]["adaptive_vs_best_fixed"][neighbour]
        print(f"  {neighbour:6}  {row}   adaptive / better fixed {best:.2f}")
    for label in ("evaluation", "training", "both"):
        print(f"adaptive beside the busy neighbour vs idle ({label}): {ratios[label]['adaptive_busy_vs_idle']:.2f}x")
    print(f"goals: {goals}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    result = {
        "prompts": len(prompts),
        "max_new_tokens": budget,
        "steps": args.steps,
        "rounds": args.rounds,
        "cores": os.cpu_count(),
        "load_average": {"before": load_before, "after": load_after},
        "runs": runs,
        "median_seconds": summary,
        "ratios": ratios,
        "goals": goals,
        "seconds": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
