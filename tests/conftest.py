"""Session-scoped fixtures: the real SmolLM2 tokenizer and model, and real BFCL data (bfcl-eval wheel)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.models import cache_dir, load_model, load_tokenizer
from tests.cli.cli import slmswap
from tests.real_templates import original_templates, tokenizer_with_template

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

BFCL_VERSION = "2026.3.23"
"""The bfcl-eval release whose data the tests read (pinned so expectations stay put)."""

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    no_gpu = pytest.mark.skip(reason="needs a CUDA GPU (marked 'gpu')")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(no_gpu)


@pytest.fixture(scope="session")
def tokenizer() -> PreTrainedTokenizerBase:
    """The real SmolLM2-135M-Instruct tokenizer, chat template included."""
    return load_tokenizer()


@pytest.fixture(scope="session")
def model() -> PreTrainedModel:
    """The real SmolLM2-135M-Instruct model, in eval mode."""
    return load_model().eval()


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real model trained for 4 steps on 16 demo conversations and exported with merged weights (what
    ``slmswap serve`` serves); shared by the deployment and gateway tests."""
    from slmswap.data import load_demo_dataset
    from slmswap.train import TrainConfig, Trainer

    root = tmp_path_factory.mktemp("deploy")
    config = TrainConfig(output_dir=root / "trained", max_steps=4, batch_size=4, learning_rate=1e-3)
    Trainer(list(load_demo_dataset("train"))[:16], config=config).train()
    result = slmswap("export", root / "trained", root / "exported", "--merge", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "serving law holds" in result.stdout
    return root / "exported"


@pytest.fixture(scope="session")
def bfcl_wheel() -> Path:
    """The bfcl-eval wheel, downloaded from PyPI once (never installed: only its data files are read)."""
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(f"bfcl_eval-{BFCL_VERSION}-*.whl"))
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "-d",
                str(wheels),
                f"bfcl-eval=={BFCL_VERSION}",
            ],
            check=True,
        )
        found = sorted(wheels.glob(f"bfcl_eval-{BFCL_VERSION}-*.whl"))
    return found[0]


@pytest.fixture(scope="session")
def template_tokenizers(tokenizer: PreTrainedTokenizerBase) -> dict[str, PreTrainedTokenizerBase]:
    """SmolLM2's own tokenizer plus one per TRL template."""
    tokenizers = {"smollm2": tokenizer}
    tokenizers.update({name: tokenizer_with_template(tokenizer, name) for name in original_templates()})
    return tokenizers


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory: pytest.TempPathFactory, tokenizer: PreTrainedTokenizerBase) -> Path:
    """``slmswap demo --quick`` run once: the README's main job with smaller sizes (its report, runs, adapter and
    training history are read by the command-line and browser tests)."""
    out = tmp_path_factory.mktemp("demo")
    result = slmswap("demo", "--quick", "--out", out)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr  # the doctor passes on the quick run too
    (out / "stdout.txt").write_text(result.stdout, encoding="utf-8")
    (out / "stderr.txt").write_text(result.stderr, encoding="utf-8")
    return out
