"""Quickstart: fine-tune the default small model for tool calling, and check that it worked.

LoRA fine-tunes SmolLM2-135M-Instruct in the Hermes format on the bundled demo dataset's train split, evaluates
the base model and the fine-tuned one on its test split (the very same prompts for both), and writes a report
comparing them (``report.md``, ``report.html``) with 95 % intervals and paired tests::

    python examples/quickstart.py            # 24 steps of 4: about 8 minutes on two CPU cores
    python examples/quickstart.py --fast     # a smoke run on a slice: about a minute
"""

from __future__ import annotations

import argparse
from pathlib import Path

from transformers import PreTrainedModel

import slmswap
from slmswap.evaluation import Run, TransformersBackend, evaluate, load_run, report_summary, write_report
from slmswap.formats import ChatFormat
from slmswap.train import TrainConfig, Trainer, load_trained


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="train 3 steps, evaluate 6 examples (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("quickstart-out"), help="output directory")
    args = parser.parse_args(argv)

    train, test = slmswap.load_demo_dataset("train"), slmswap.load_demo_dataset("test")
    config = TrainConfig(output_dir=args.out / "model", max_steps=24, batch_size=4, learning_rate=1e-3, logging_steps=4)
    if args.fast:
        config = config.model_copy(update={"max_steps": 3, "batch_size": 2, "logging_steps": 1})
        train, test = train[:16], test[:6]
    trainer = Trainer(train, format="hermes", config=config)  # the default model, with a LoRA adapter
    print(trainer.prepared.stats.summary())

    def run(label: str, model: PreTrainedModel, fmt: ChatFormat) -> Run:
        records, results = args.out / label / "records.jsonl", args.out / label / "results.json"
        records.unlink(missing_ok=True)  # a new model: answers from an earlier run must not be reused
        generator = TransformersBackend(model, trainer.tokenizer, max_new_tokens=96)
        evaluate(test, generator.generate, trainer.tokenizer, fmt, records=records, results=results)
        return load_run(label, records, results)

    base = run("base", trainer.model, trainer.format)  # before training adds the adapter to the model
    trainer.train()  # saves the adapter, the tokenizer and slmswap.json (the format) to --out/model
    model, _, fmt, _ = load_trained(config.output_dir)  # the trained format comes back from slmswap.json
    tuned = run("tuned", model, fmt)

    paths = write_report([base, tuned], args.out)
    print(report_summary([base, tuned]))
    print(f"full report (worst examples, parse failures): {paths['markdown']}, {paths['html']}")


if __name__ == "__main__":
    main()
