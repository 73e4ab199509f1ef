"""Benchmark: the Trainer facade vs plain TRL SFTTrainer on the same prepared data, and padding-free packing.

All three runs train the default SmolLM2 with LoRA for the same steps on the same slmswap-prepared examples:

  (a) the slmswap ``Trainer`` facade;
  (b) TRL's ``SFTTrainer`` given the same dataset, LoRA config and training arguments;
  (c) the facade with ``padding_free=True``;

and report seconds per step (a vs b: the facade's overhead) and trained tokens per second (a vs c).

    python benchmarks/train.py --steps 6 --out benchmarks/results/train.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def _facade(steps: int, out: Path, padding_free: bool) -> dict[str, Any]:
    from _data import tool_conversations

    from slmswap.train import TrainConfig, Trainer

    config = TrainConfig(output_dir=out, max_steps=steps, batch_size=4, logging_steps=1, padding_free=padding_free)
    trainer = Trainer(tool_conversations(64, seed=3), format="hermes", config=config)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    tokens = max(e.get("num_tokens", 0) for e in trainer.trainer.state.log_history)
    return {"seconds": seconds, "seconds_per_step": seconds / steps, "tokens": tokens, "tokens_per_s": tokens / seconds}


def _plain_trl(steps: int, out: Path) -> dict[str, Any]:
    from _data import tool_conversations
    from trl.trainer.sft_trainer import SFTTrainer

    from slmswap.train import TrainConfig, Trainer

    config = TrainConfig(output_dir=out, max_steps=steps, batch_size=4, logging_steps=1)
    facade = Trainer(tool_conversations(64, seed=3), format="hermes", config=config)  # same data, model, arguments
    trainer = SFTTrainer(
        model=facade.model,
        args=facade._sft_config(),
        train_dataset=facade.prepared.dataset,
        processing_class=facade.tokenizer,
        peft_config=facade._peft_config(),
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    tokens = max(e.get("num_tokens", 0) for e in trainer.state.log_history)
    return {"seconds": seconds, "seconds_per_step": seconds / steps, "tokens": tokens, "tokens_per_s": tokens / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        results = {
            "trl": _plain_trl(args.steps, root / "trl"),
            "slmswap": _facade(args.steps, root / "facade", padding_free=False),
            "slmswap_padding_free": _facade(args.steps, root / "free", padding_free=True),
        }
    ratios = {
        "facade_overhead": results["slmswap"]["seconds_per_step"] / results["trl"]["seconds_per_step"] - 1,
        "padding_free_tokens_per_s_ratio": results["slmswap_padding_free"]["tokens_per_s"]
        / results["slmswap"]["tokens_per_s"],
    }
    for name, row in results.items():
        print(f"{name:<22} {row['seconds_per_step']:.2f} s/step  {row['tokens_per_s']:.0f} tokens/s")
    print(f"facade overhead vs TRL: {ratios['facade_overhead']:+.1%}")
    print(f"padding-free tokens/s vs padded: {ratios['padding_free_tokens_per_s_ratio']:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"steps": args.steps, "results": results, "ratios": ratios}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
