"""slmswap's Trainer, unchanged, trains data-parallel under ``torchrun --nproc_per_node 2`` on the CPU (gloo).

Runs ``examples/torchrun_train.py`` (the script the scaling-out guide includes) in two processes on the real
default model and checks what only a data-parallel run produces: both processes in one process group of two,
the model wrapped in DistributedDataParallel, each process given half of the data per epoch, the same weights
on both after training (their gradients were averaged), and one output directory written by rank 0 that loads
back with its format.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from slmswap.train import MANIFEST_NAME, load_trained

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "examples" / "torchrun_train.py"
STEPS, EXAMPLES, BATCH, WORLD = 2, 8, 1, 2


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torchrun_train", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_torchrun_two_processes_train_one_model(tmp_path: Path, tokenizer: PreTrainedTokenizerBase) -> None:
    # The `tokenizer` fixture converts the default model into the cache first, so that the two ranks only load it.
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(WORLD),
        "--standalone",
        str(SCRIPT),
        "--output",
        str(out),
        "--steps",
        str(STEPS),
        "--examples",
        str(EXAMPLES),
        "--batch-size",
        str(BATCH),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]

    lines = re.finditer(r"^rank (\d+)/(\d+): (\{.*\})$", run.stdout, re.MULTILINE)
    reports = {int(m[1]): (int(m[2]), json.loads(m[3])) for m in lines}
    assert sorted(reports) == [0, 1], run.stdout
    for world, report in reports.values():
        assert world == report["world_size"] == WORLD
        assert report["backend"] == "gloo"
        assert report["wrapper"] == "DistributedDataParallel"
        assert report["global_step"] == STEPS
        # Each process iterates over its own half of the data: one epoch is EXAMPLES / (BATCH * WORLD) steps (a
        # single process would take EXAMPLES / BATCH), so STEPS steps covered STEPS * BATCH * WORLD examples.
        assert report["batches_per_epoch"] == EXAMPLES // (BATCH * WORLD)
        assert math.isclose(report["epoch"], STEPS * BATCH * WORLD / EXAMPLES)
    # Different data on each process, yet the same weights: the gradients were averaged across the two.
    assert reports[0][1]["weights"] == reports[1][1]["weights"]

    summaries = [line for line in run.stdout.splitlines() if line.startswith("trained on")]
    assert len(summaries) == 1, run.stdout  # rank 0 only
    assert summaries[0].startswith(f"trained on {WORLD} process(es): {STEPS} steps of {BATCH} x {WORLD}")
    loss = re.search(r"final loss (\S+),", summaries[0])
    assert loss is not None
    assert math.isfinite(float(loss[1]))

    assert sorted(p.name for p in out.glob(f"*{MANIFEST_NAME}*")) == [MANIFEST_NAME]  # one manifest, no leftovers
    assert (out / "adapter_config.json").is_file()
    assert (out / "adapter_model.safetensors").is_file()
    model, _, fmt, manifest = load_trained(out)
    assert fmt.name == manifest.format == "hermes"
    assert manifest.method == "lora"
    assert manifest.config["max_steps"] == STEPS
    assert manifest.data["train"]["kept"] == EXAMPLES
    # The adapter saved by rank 0 holds the weights both ranks ended with.
    assert _example().weights_digest(model) == reports[0][1]["weights"]
