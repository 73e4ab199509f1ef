"""Data-parallel fine-tuning with ``torchrun``: slmswap's ``Trainer``, unchanged, in one process or in several.

The same script runs as a single process or under a launcher that starts one process per device::

    python examples/torchrun_train.py --output runs/single
    torchrun --nproc_per_node 2 examples/torchrun_train.py --output runs/ddp
    accelerate launch --multi_gpu --num_processes 2 examples/torchrun_train.py --output runs/ddp

Nothing in it is about distribution: the launcher sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous address in each process's environment, and the transformers ``Trainer`` under slmswap's reads them
(through accelerate), starts the process group (NCCL on GPUs; on a machine without CUDA, where slmswap trains
on the CPU, gloo), wraps the model in ``DistributedDataParallel`` and gives each process its own shard of every
batch. The adapter and the manifest (``slmswap.json``) are written by process 0 alone.

It trains a LoRA adapter for the embedded default model (SmolLM2-135M-Instruct) on a small tool-calling data
set built here (no download), in the ``hermes`` format, for a few optimizer steps: a run of the machinery, not
a useful model. Each process prints one line, ``rank R/W: {...}``, with what it saw (world size, the wrapper
around its model, the steps and epochs done, a digest of its LoRA weights: the same on every process, since
their gradients are averaged); process 0 then prints a summary. ``tests/train/test_distributed.py`` runs it
under ``torchrun --nproc_per_node 2`` on the CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

import torch

from slmswap import Conversation, Message, Tool, ToolCall
from slmswap.train import TrainConfig, Trainer


def _tool(name: str, description: str, **properties: str) -> Tool:
    return Tool(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": {key: {"type": kind} for key, kind in properties.items()},
            "required": list(properties),
        },
    )


TOOLS = (
    _tool("get_weather", "Current weather for a city.", city="string"),
    _tool("get_time", "Local time in a city.", city="string"),
    _tool("convert_currency", "Convert an amount between currencies.", amount="number", to="string"),
    _tool("set_timer", "Start a countdown timer.", minutes="integer"),
)
CITIES = ("Paris", "Rome", "Lima", "Oslo", "Cairo", "Quito", "Hanoi", "Perth")
CURRENCIES = ("EUR", "USD", "JPY", "GBP")


def _request(rng: random.Random) -> tuple[str, ToolCall]:
    """One user request and the tool call that answers it."""
    kind = rng.choice(("weather", "time", "currency", "timer"))
    if kind == "weather":
        city = rng.choice(CITIES)
        return f"Weather in {city}?", ToolCall(name="get_weather", arguments={"city": city})
    if kind == "time":
        city = rng.choice(CITIES)
        return f"Time in {city}?", ToolCall(name="get_time", arguments={"city": city})
    if kind == "currency":
        amount, to = rng.choice((5, 20, 100)), rng.choice(CURRENCIES)
        return f"{amount} dollars in {to}?", ToolCall(name="convert_currency", arguments={"amount": amount, "to": to})
    minutes = rng.choice((3, 5, 10))
    return f"Timer for {minutes} minutes.", ToolCall(name="set_timer", arguments={"minutes": minutes})


def conversations(count: int, seed: int = 0) -> list[Conversation]:
    """``count`` single-call conversations, the same for a given seed (so every process builds the same set)."""
    rng = random.Random(seed)
    out = []
    for k in range(count):
        question, call = _request(rng)
        messages = (Message.user(question), Message.assistant(tool_calls=[call]))
        out.append(Conversation(messages=messages, tools=TOOLS, id=f"ex{k}"))
    return out


def weights_digest(model: torch.nn.Module) -> str:
    """A SHA-256 digest of a model's LoRA weights, in name order (a trained model, or one loaded back)."""
    digest = hashlib.sha256()
    for name, parameter in sorted(model.named_parameters()):
        if ".lora_" in name:
            digest.update(name.encode())
            digest.update(parameter.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("slmswap-torchrun"), help="output directory")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps")
    parser.add_argument("--examples", type=int, default=32, help="training conversations")
    parser.add_argument("--batch-size", type=int, default=2, help="conversations per process per step")
    args = parser.parse_args(argv)

    config = TrainConfig(
        output_dir=args.output,
        max_steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=1e-3,
        logging_steps=1,
        seed=0,
    )
    trainer = Trainer(conversations(args.examples), format="hermes", config=config)
    outcome = trainer.train()

    hf = trainer.trainer  # the underlying TRL SFTTrainer, once trained
    rank, world = hf.args.process_index, hf.args.world_size
    losses = [entry["loss"] for entry in hf.state.log_history if "loss" in entry]
    report = {
        "world_size": world,
        "wrapper": type(hf.model_wrapped).__name__,
        "backend": torch.distributed.get_backend() if torch.distributed.is_initialized() else None,
        "global_step": hf.state.global_step,
        "epoch": hf.state.epoch,
        "batches_per_epoch": len(hf.get_train_dataloader()),
        "weights": weights_digest(hf.model),
    }
    print(f"rank {rank}/{world}: {json.dumps(report)}", flush=True)
    if hf.is_world_process_zero():
        seen = report["global_step"] * args.batch_size * world
        print(
            f"trained on {world} process(es): {report['global_step']} steps of {args.batch_size} x {world} "
            f"conversations ({seen} of {args.examples}), final loss {losses[-1]:.4f}, "
            f"format {outcome.manifest.format!r}, saved to {outcome.output_dir}",
            flush=True,
        )
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
