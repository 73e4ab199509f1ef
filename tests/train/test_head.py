"""The head computed only at labelled positions gives TRL's loss, gradients and logged metrics on real batches,
padded or padding-free (and padding-free batches give the padded batches' loss)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from slmswap.data.demo import load_demo_dataset
from slmswap.train import TrainConfig, Trainer
from slmswap.train.head import install_labelled_head, supports_labelled_head

pytestmark = pytest.mark.slow


def _loss_and_gradient(trainer: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    trainer.model.zero_grad()
    trainer._metrics["train"].clear()
    loss = trainer.compute_loss(trainer.model, dict(batch))
    loss.backward()
    gradient = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
    logged = {k: v[-1] for k, v in trainer._metrics["train"].items() if k != "num_tokens"}
    return loss.detach(), gradient, logged


def _trl_trainer(tmp_path: Path, tokenizer: Any, padding_free: bool) -> Any:
    from trl.trainer.sft_trainer import SFTTrainer

    config = TrainConfig(
        output_dir=tmp_path, max_steps=1, batch_size=4, micro_batch_size=4, lora_dropout=0.0, padding_free=padding_free
    )
    facade = Trainer(load_demo_dataset("train")[:8], tokenizer=tokenizer, model="smollm2-135m-instruct", config=config)
    trainer = SFTTrainer(
        model=facade.model,
        args=facade._sft_config(),
        train_dataset=facade.prepared.dataset,
        processing_class=facade.tokenizer,
        peft_config=facade._peft_config(),
    )
    trainer.model.train()
    return trainer


def test_labelled_head_gives_trls_loss(tmp_path: Path, tokenizer: Any) -> None:
    losses = {}
    for padding_free in (False, True):
        trainer = _trl_trainer(tmp_path / str(padding_free), tokenizer, padding_free)
        batch = next(iter(trainer.get_train_dataloader()))
        assert ("attention_mask" in batch) is not padding_free
        labelled = int((batch["labels"] != -100).sum())
        assert labelled < batch["labels"].numel() / 4  # most positions are not labelled: the head's saving

        trl_loss, trl_gradient, trl_logged = _loss_and_gradient(trainer, batch)
        base = trainer.model.get_base_model()
        assert supports_labelled_head(base)
        assert install_labelled_head(base)
        loss, gradient, logged = _loss_and_gradient(trainer, batch)

        torch.testing.assert_close(loss, trl_loss, rtol=1e-4, atol=1e-6)
        assert float((gradient - trl_gradient).norm() / trl_gradient.norm()) < 1e-3
        assert logged.keys() == trl_logged.keys() == {"entropy", "mean_token_accuracy"}
        assert logged["mean_token_accuracy"] == trl_logged["mean_token_accuracy"]
        assert logged["entropy"] == pytest.approx(trl_logged["entropy"], rel=1e-4)
        # generation (no fused_lm_head) still runs the model's own forward
        output = trainer.model(input_ids=batch["input_ids"][:1, :8])
        assert output.logits.shape[-1] == base.config.vocab_size
        losses[padding_free] = loss
    torch.testing.assert_close(losses[True], losses[False], rtol=1e-5, atol=1e-6)  # padding-free is exact
