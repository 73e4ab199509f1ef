"""Everything the Trainer checks before work starts, on the real tokenizer and model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from slmswap.errors import ConfigError, DataError, ModelError
from slmswap.train import TrainConfig, Trainer
from tests.train.tool_data import tool_conversations

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def test_empty_training_data() -> None:
    with pytest.raises(DataError, match="no training conversations"):
        Trainer([])


def test_format_that_cannot_express_the_data(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    with pytest.raises(DataError, match=r"every training example was dropped \(format_cannot_express=4\)") as info:
        Trainer(tool_conversations(4, seed=0), model=model, tokenizer=tokenizer, format="structured")
    assert "cannot express tool calls" in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_qlora_without_cuda_fails_before_loading_anything() -> None:
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        Trainer(tool_conversations(2, seed=0), config=TrainConfig(method="qlora"))


def test_tokenizer_model_vocabulary_mismatch(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    grown = copy.deepcopy(tokenizer)
    grown.add_special_tokens({"additional_special_tokens": ["<|new_role|>"]})
    with pytest.raises(ModelError, match=r"vocabulary \(49152\) is smaller than the tokenizer's \(49153\)"):
        Trainer(tool_conversations(2, seed=0), model=model, tokenizer=grown)


def test_config_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("method: lora\nlora_r: 8\nmax_steps: 5\nsft:\n  warmup_ratio: 0.1\n")
    config = TrainConfig.from_yaml(path)
    assert (config.lora_r, config.max_steps, config.sft) == (8, 5, {"warmup_ratio": 0.1})
    path.write_text("lora_r: many\n")
    with pytest.raises(ConfigError, match=r"train.yaml: field 'lora_r'"):
        TrainConfig.from_yaml(path)
    path.write_text("learning_rat: 0.1\n")
    with pytest.raises(ConfigError, match=r"field 'learning_rat': Extra inputs are not permitted"):
        TrainConfig.from_yaml(path)


def test_metric_for_best_must_be_scored(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    config = TrainConfig(metric_for_best="argument_exact_match")  # a typo of arguments_exact_match
    with pytest.raises(ConfigError, match=r"metric_for_best 'argument_exact_match' is not one of the metrics scored"):
        Trainer(tool_conversations(2, seed=0), model=model, tokenizer=tokenizer, config=config)


def test_user_metrics_are_scored_while_training(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    from slmswap.metrics import MetricBase, ScoredExample
    from slmswap.train import TaskMetricsCallback

    class Answered(MetricBase):
        name = "answered"
        binary = True

        def score(self, example: ScoredExample) -> float | None:
            return 1.0 if example.prediction.turn is not None else 0.0

    held_out = tool_conversations(2, seed=3)
    config = TrainConfig(metric_for_best="answered")
    trainer = Trainer(held_out, held_out, model=model, tokenizer=tokenizer, config=config, metrics=[Answered()])
    callback = TaskMetricsCallback(
        held_out, tokenizer, trainer.format, max_new_tokens=4, metric_for_best="answered", metrics=trainer.metrics
    )
    scored = callback.score(model, 0)
    assert set(scored) == {"eval_answered", "step"}


def test_a_setting_another_overrides_is_warned_about(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> None:
    config = TrainConfig(max_steps=2, epochs=2, eval_steps=1)
    with pytest.warns(UserWarning, match="is ignored") as caught:
        Trainer(tool_conversations(4, seed=0), model=model, tokenizer=tokenizer, config=config)
    messages = [str(warning.message) for warning in caught]
    assert "epochs=2 is ignored: max_steps=2 decides how long training runs (remove one of the two)" in messages
    assert "eval_steps=1 is ignored: no held-out conversations were given" in messages
    assert TrainConfig(max_steps=2).overridden() == []  # the default epochs is not a setting the user gave
    assert TrainConfig(method="full", lora_r=4).overridden() == [
        "lora_r ignored: method='full' trains every weight, without LoRA adapters"
    ]


def test_sft_and_peft_keys_that_replace_a_setting_are_warned_about(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> None:
    config = TrainConfig(max_steps=2, sft={"learning_rate": 0.5}, peft={"r": 4})
    trainer = Trainer(tool_conversations(4, seed=0), model=model, tokenizer=tokenizer, config=config)
    with pytest.warns(UserWarning, match=r"sft\.learning_rate=0\.5 overrides the 0\.0002 slmswap sets"):
        assert trainer._sft_config().learning_rate == 0.5
    with pytest.warns(UserWarning, match=r"peft\.r=4 overrides the 16 slmswap sets"):
        assert trainer._peft_config().r == 4  # given twice, it used to be a TypeError
