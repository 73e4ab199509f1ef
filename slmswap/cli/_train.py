"""``slmswap train CONFIG.yaml``: the doctor's setup checks, then the training job the YAML describes."""

from __future__ import annotations

import argparse
import json

from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command, count
from slmswap.doctor import diagnose
from slmswap.errors import ConfigError
from slmswap.train.job import TrainJob


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.yaml", help="the training job (keys mirror Trainer's arguments)")
    parser.add_argument("--resume", action="store_true", help="go on from the last checkpoint in output_dir")
    parser.add_argument("--force", action="store_true", help="train even when a setup check fails")
    parser.add_argument(
        "--threads", type=count, default=None, help="torch CPU threads (default: the job's, else the free cores)"
    )


def _train(args: argparse.Namespace) -> int:
    job = TrainJob.from_yaml(args.config)
    if args.threads is not None:
        job = job.model_copy(update={"config": job.config.model_copy(update={"threads": args.threads})})
    output = job.config.output_dir
    if args.resume and not any(output.glob("checkpoint-*")):
        raise ConfigError(f"{args.config}: --resume, but {output} holds no checkpoint to resume from")
    tokenizer = job.load_tokenizer()
    train = job.load_train()
    preflight = diagnose(
        tokenizer=tokenizer, fmt=job.load_format(tokenizer), conversations=train, options=job.config.tokenize_options()
    )
    print(preflight.render())
    if not preflight.ok and not args.force:
        print("not training: fix the failed checks above (or pass --force)")
        return EXIT_CHECK
    trainer = job.trainer(tokenizer=tokenizer, train=train)
    print(f"data: {trainer.prepared.stats.summary()}")
    outcome = trainer.train(resume_from_checkpoint=True if args.resume else None)
    print(f"saved to {outcome.output_dir} (format {trainer.format.name!r}; manifest slmswap.json)")
    if outcome.history:
        print("held-out task metrics: " + json.dumps(outcome.history[-1]))
    return EXIT_OK


TRAIN = Command(
    "train",
    "fine-tune from a YAML job (model, format, data, TrainConfig) after the doctor's setup checks",
    "Train as the YAML file describes. Its keys are the Trainer's arguments: train, eval, model, format "
    "(format_options), config (TrainConfig fields, e.g. max_steps, learning_rate, output_dir), and optionally "
    "chat_template. Relative paths are read from the YAML file's directory; demo:train and demo:test name the "
    "bundled demo dataset. The doctor's setup checks run first: a failing setup is not trained (exit 1).\n\n"
    "Example::\n\n"
    "  model: smollm2-135m-instruct\n  format: hermes\n  train: demo:train\n  eval: demo:test\n"
    "  config:\n    max_steps: 60\n    learning_rate: 1.0e-3\n    output_dir: out/adapter\n",
    _arguments,
    _train,
)
