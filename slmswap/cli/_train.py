"""``slmswap train CONFIG.yaml``: the doctor's setup checks, then the training job the YAML describes."""

from __future__ import annotations

import argparse
import json

from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command
from slmswap.doctor import diagnose
from slmswap.templates.tokenize import TokenizeOptions
from slmswap.train.job import TrainJob


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.yaml", help="the training job (keys mirror Trainer's arguments)")
    parser.add_argument("--resume", action="store_true", help="go on from the last checkpoint in output_dir")
    parser.add_argument("--force", action="store_true", help="train even when a setup check fails")


def _train(args: argparse.Namespace) -> int:
    from slmswap.train.trainer import Trainer

    job = TrainJob.from_yaml(args.config)
    tokenizer = job.load_tokenizer()
    fmt = job.load_format(tokenizer)
    train, held_out = job.load_train(), job.load_eval()
    options = TokenizeOptions(
        turns=job.config.turns, max_length=job.config.max_length, train_tool_results=job.config.train_tool_results
    )
    preflight = diagnose(tokenizer=tokenizer, fmt=fmt, conversations=train, options=options)
    print(preflight.render())
    if not preflight.ok and not args.force:
        print("not training: fix the failed checks above (or pass --force)")
        return EXIT_CHECK
    trainer = Trainer(train, held_out, model=job.model, tokenizer=tokenizer, format=fmt, config=job.config)
    print(f"data: {trainer.prepared.stats.summary()}")
    outcome = trainer.train(resume_from_checkpoint=True if args.resume else None)
    print(f"saved to {outcome.output_dir} (format {fmt.name!r}; manifest slmswap.json)")
    if outcome.history:
        print("held-out task metrics: " + json.dumps(outcome.history[-1]))
    return EXIT_OK


TRAIN = Command(
    "train",
    "fine-tune from a YAML job (model, format, data, TrainConfig) after the doctor's setup checks",
    "Train as the YAML file describes. Its keys are the Trainer's arguments: train, eval, model, format "
    "(format_options), config (TrainConfig fields, e.g. max_steps, learning_rate, output_dir), and optionally "
    "chat_template. Relative paths are read from the YAML file's directory; demo:train and demo:test name the "
    "bundled demo dataset.\n\nExample:\n\n"
    "  model: smollm2-135m-instruct\n  format: hermes\n  train: demo:train\n  eval: demo:test\n"
    "  config:\n    max_steps: 60\n    learning_rate: 1.0e-3\n    output_dir: out/adapter\n",
    _arguments,
    _train,
)
