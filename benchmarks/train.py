"""Benchmark: the Trainer facade vs plain TRL SFTTrainer on the same prepared data and LoRA config, interleaved.

Both train the default SmolLM2 with LoRA (r16, all linear layers, batch 4, hermes) on the same slmswap-prepared
demo examples in the same order:

  (a) TRL's ``SFTTrainer`` as it comes: padded batches of 4 in one pass, its chunked log-prob head over every
      position;
  (b) the slmswap ``Trainer`` facade: on CPU micro-batches of one conversation (no padding, gradients
      accumulated into the same optimizer step), the head only at labelled positions;

alternately (a, b, a, b, ... ``--rounds`` times, ``--steps`` steps each, fresh LoRA weights each run), so load on
the machine falls on both alike. Per variant it reports trained tokens per second (tokens of the batches, padding
excluded, over the summed optimizer-step times), the loss of every step (the two must agree within float
tolerance: the levers are exact), achieved GFLOPS against an fp32 GEMM rate measured in the same run with the same
thread count, and peak resident memory. ``--facade-threads`` adds facade runs at other torch thread counts (the
1-vs-2-thread comparison behind the default).

Useful FLOPs per step: forward plus input-gradient backward of the transformer body for every trained token
(2 x 2 x non-embedding parameters; frozen weights get no weight gradient under LoRA), plus the same for the LM
head at labelled positions only (the others need no logits).

    python benchmarks/train.py --steps 4 --rounds 2 --out benchmarks/results/train.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def _gemm_gflops(threads: int, size: int = 1024, seconds: float = 3.0) -> float:
    """fp32 matrix-product rate with ``threads`` torch threads (the best of repeated 1024x1024 products)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        best = max(best, 4 * 2 * size**3 / (time.perf_counter() - started) / 1e9)
    torch.set_num_threads(previous)
    return best


def _callbacks(record: dict[str, Any]) -> list[Any]:
    from transformers import TrainerCallback

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            record["step_seconds"].append(time.perf_counter() - self.started)

    return [Clock()]


def _labelled_share(dataset: Any) -> float:
    """Labelled tokens (next-token targets) over all tokens of the prepared data."""
    labels = dataset["labels"]
    return sum(sum(1 for x in row if x != -100) for row in labels) / sum(len(row) for row in labels)


def _run(variant: str, steps: int, threads: int, out: Path) -> dict[str, Any]:
    import torch
    from trl.trainer.sft_trainer import SFTTrainer

    from slmswap._memory import StagePeak, release
    from slmswap.data.demo import load_demo_dataset
    from slmswap.train import TrainConfig, Trainer

    release()
    with StagePeak() as memory:
        torch.set_num_threads(threads)
        record: dict[str, Any] = {"variant": variant, "threads": threads, "step_seconds": []}
        config = TrainConfig(
            output_dir=out, max_steps=steps, batch_size=4, logging_steps=1, threads=threads, checkpoints=False
        )
        facade = Trainer(load_demo_dataset("train")[:64], format="hermes", config=config)
        if variant == "trl":
            trainer = SFTTrainer(
                model=facade.model,
                args=dataclasses.replace(
                    facade._sft_config(),
                    padding_free=False,
                    per_device_train_batch_size=config.batch_size,
                    gradient_accumulation_steps=1,
                ),
                train_dataset=facade.prepared.dataset,
                processing_class=facade.tokenizer,
                peft_config=facade._peft_config(),
                callbacks=_callbacks(record),
            )
            trainer.train()
        else:
            facade.train(callbacks=_callbacks(record))
            trainer = facade.trainer
        history = trainer.state.log_history
        record["losses"] = [entry["loss"] for entry in history if "loss" in entry]
        record["tokens"] = max(entry.get("num_tokens", 0) for entry in history)
        record["seconds"] = sum(record["step_seconds"])
        record["tokens_per_s"] = record["tokens"] / record["seconds"]
        labelled = record["tokens"] * _labelled_share(facade.prepared.dataset)  # the data's share, not the batches'
        hidden, vocab = facade.model.config.hidden_size, facade.model.config.vocab_size
        body = sum(p.numel() for n, p in trainer.model.named_parameters() if "lora_" not in n) - hidden * vocab
        record["useful_gflop"] = (4 * body * record["tokens"] + 4 * hidden * vocab * labelled) / 1e9
        record["gflops"] = record["useful_gflop"] / record["seconds"]
    record["peak_rss_bytes"] = memory.peak
    del trainer, facade
    release()
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per run (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="a, b alternations (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the free cores)")
    parser.add_argument("--facade-threads", type=int, nargs="*", default=[], help="extra facade runs at these counts")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train.json"))
    args = parser.parse_args()

    from slmswap._threads import cpu_phase

    with cpu_phase(name="benchmark") as policy:
        threads = args.threads or policy.threads  # the free cores now, kept for every run
    runs: list[dict[str, Any]] = []
    gemm = {threads: _gemm_gflops(threads)}
    variants = [("trl", threads), ("facade", threads)] + [("facade", t) for t in args.facade_threads]
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for variant, count in variants:
                runs.append(_run(variant, args.steps, count, Path(scratch) / f"{variant}-{count}-{round_}"))
                runs[-1]["round"] = round_
                gemm.setdefault(count, _gemm_gflops(count))
                last = runs[-1]
                print(
                    f"round {round_ + 1} {variant:<7} {count} thread(s): {last['tokens_per_s']:7.1f} tokens/s  "
                    f"{last['gflops']:6.1f} GFLOPS  peak RSS {last['peak_rss_bytes'] / 2**30:.2f} GB  "
                    f"losses {', '.join(f'{x:.4f}' for x in last['losses'])}",
                    flush=True,
                )

    def total(variant: str, count: int) -> dict[str, float]:
        chosen = [r for r in runs if r["variant"] == variant and r["threads"] == count]
        seconds = sum(r["seconds"] for r in chosen)
        return {
            "tokens_per_s": sum(r["tokens"] for r in chosen) / seconds,
            "gflops": sum(r["useful_gflop"] for r in chosen) / seconds,
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in chosen),
            "gemm_gflops": gemm[count],
        }

    summary = {"trl": total("trl", threads), "facade": total("facade", threads)}
    for count in args.facade_threads:
        summary[f"facade_{count}_threads"] = total("facade", count)

    def losses(variant: str, round_: int) -> list[float]:
        return next(r["losses"] for r in runs if (r["variant"], r["threads"], r["round"]) == (variant, threads, round_))

    pairs = [(losses("trl", n), losses("facade", n)) for n in range(args.rounds)]
    loss_gap = max(abs(x - y) / abs(x) for la, lb in pairs for x, y in zip(la, lb, strict=True))
    ratios = {
        "facade_vs_trl_tokens_per_s": summary["facade"]["tokens_per_s"] / summary["trl"]["tokens_per_s"],
        "facade_gflops_vs_gemm": summary["facade"]["gflops"] / gemm[threads],
        "trl_gflops_vs_gemm": summary["trl"]["gflops"] / gemm[threads],
        "max_relative_loss_difference": loss_gap,
    }
    for name, row in summary.items():
        print(
            f"{name:<20} {row['tokens_per_s']:7.1f} tokens/s  {row['gflops']:6.1f} GFLOPS "
            f"of a {row['gemm_gflops']:.1f} GFLOPS GEMM  peak RSS {row['peak_rss_bytes'] / 2**30:.2f} GB"
        )
    print(f"facade vs TRL trained tokens/s: {ratios['facade_vs_trl_tokens_per_s']:.2f}x")
    print(f"facade at {ratios['facade_gflops_vs_gemm']:.0%} of the GEMM rate (TRL {ratios['trl_gflops_vs_gemm']:.0%})")
    print(f"largest relative loss difference per step, facade vs TRL: {loss_gap:.1e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"steps": args.steps, "threads": threads, "runs": runs, "summary": summary, "ratios": ratios}
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
