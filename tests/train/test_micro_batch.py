"""A batch run as micro-batches (gradients accumulated into one optimizer step) trains the same model as the
whole batch in one pass, on the real model: the same loss at every step and the same adapter. On CPU a pass
holds one example by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file

from slmswap.data.demo import load_demo_dataset
from slmswap.train import TrainConfig, Trainer
from slmswap.trained.history import read_history

pytestmark = pytest.mark.slow


def _train(out: Path, tokenizer: Any, micro: int) -> tuple[list[float], dict[str, torch.Tensor], Any]:
    config = TrainConfig(
        output_dir=out,
        max_steps=2,
        batch_size=4,
        micro_batch_size=micro,
        learning_rate=1e-3,
        logging_steps=1,
        checkpoints=False,
    )
    trainer = Trainer(load_demo_dataset("train")[:8], tokenizer=tokenizer, format="hermes", config=config)
    arguments = trainer._sft_config()
    trainer.train()
    losses = [loss for _, loss in read_history(out).series("loss")]
    return losses, load_file(str(out / "adapter_model.safetensors")), arguments


def test_micro_batches_train_the_same_model(tmp_path: Path, tokenizer: Any) -> None:
    whole_losses, whole, whole_arguments = _train(tmp_path / "whole", tokenizer, 4)
    losses, weights, arguments = _train(tmp_path / "micro", tokenizer, 1)
    assert (whole_arguments.per_device_train_batch_size, whole_arguments.gradient_accumulation_steps) == (4, 1)
    assert (arguments.per_device_train_batch_size, arguments.gradient_accumulation_steps) == (1, 4)
    assert len(losses) == len(whole_losses) == 2
    assert losses == pytest.approx(whole_losses, rel=1e-4)  # the second loss is after one update: the same update
    assert weights.keys() == whole.keys()
    difference = torch.cat([(weights[name] - whole[name]).flatten() for name in whole]).norm()
    assert float(difference / torch.cat([tensor.flatten() for tensor in whole.values()]).norm()) < 1e-3
    for name, tensor in weights.items():  # Adam divides by the gradient's size: summation-order noise in a
        # near-zero gradient moves a weight by up to a learning-rate step (2 % of a small tensor's norm was seen),
        # so per tensor the bound only tells a different update (a relative difference near 1) from noise
        assert float((tensor - whole[name]).norm() / whole[name].norm().clamp_min(1e-12)) < 0.1, name


def test_one_example_per_pass_on_cpu_the_batch_on_a_gpu() -> None:
    config = TrainConfig(batch_size=4, gradient_accumulation_steps=2)
    assert (config.micro_batch(cuda=False), config.micro_batch(cuda=True)) == (1, 4)
    assert TrainConfig(batch_size=4, micro_batch_size=2).micro_batch(cuda=False) == 2


def test_a_micro_batch_that_does_not_divide_the_batch_is_refused() -> None:
    with pytest.raises(ValidationError, match="micro_batch_size=3 does not divide batch_size=4"):
        TrainConfig(batch_size=4, micro_batch_size=3)
