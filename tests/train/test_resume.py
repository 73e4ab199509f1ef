"""Training killed mid-run (SIGKILL) resumes from its last checkpoint and completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from slmswap.models import load_tokenizer
from slmswap.train import Manifest, TrainConfig, Trainer
from tests.train.tool_data import tool_conversations

_CHILD = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from slmswap.train import TrainConfig, Trainer
from tests.train.tool_data import tool_conversations
from tests.train.test_resume import config
Trainer(tool_conversations(16, seed=5), format="hermes", config=config(Path({out!r}))).train()
"""


def config(output_dir: Path) -> TrainConfig:
    return TrainConfig(
        output_dir=output_dir, max_steps=8, batch_size=2, learning_rate=5e-4, logging_steps=2, sft={"save_steps": 3}
    )


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = textwrap.dedent(_CHILD).format(root=str(Path(__file__).parents[2]), out=str(out))
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and child.poll() is None:
        if (out / "checkpoint-3" / "trainer_state.json").exists():
            break
        time.sleep(0.2)
    assert child.poll() is None, "training finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not (out / "slmswap.json").exists()  # no manifest from a run that did not finish

    checkpoint_state = out / "checkpoint-3" / "trainer_state.json"
    saved_at = checkpoint_state.stat().st_mtime_ns
    trainer = Trainer(tool_conversations(16, seed=5), format="hermes", tokenizer=load_tokenizer(), config=config(out))
    trainer.train(resume_from_checkpoint=True)
    assert trainer.trainer.state.global_step == 8
    assert checkpoint_state.stat().st_mtime_ns == saved_at  # steps 1-3 were not trained (and saved) again
    assert (out / "checkpoint-6").is_dir()
    assert Manifest.load(out).config["max_steps"] == 8
