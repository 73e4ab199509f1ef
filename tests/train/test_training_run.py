"""A real LoRA run on the default SmolLM2-135M-Instruct (CPU): task metrics rise, the manifest records them,
and the saved output evaluates with the format it was trained with."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmswap.errors import ConfigError
from slmswap.evaluation import TransformersBackend, evaluate
from slmswap.models import load_model, load_tokenizer
from slmswap.train import Manifest, TaskMetricsCallback, TrainConfig, Trainer, load_trained, template_sha256
from slmswap.trained.history import HISTORY_FILE, read_history
from tests.train.tool_data import tool_conversations


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float], Trainer]:
    tokenizer = load_tokenizer()
    held_out = tool_conversations(8, seed=2)
    config = TrainConfig(
        output_dir=tmp_path_factory.mktemp("run") / "out",
        max_steps=12,
        batch_size=4,
        learning_rate=1e-3,
        eval_steps=6,
        eval_examples=8,
        eval_max_new_tokens=32,
        logging_steps=3,
    )
    trainer = Trainer(tool_conversations(48, seed=1), held_out, tokenizer=tokenizer, format="hermes", config=config)
    probe = TaskMetricsCallback(held_out, tokenizer, trainer.format, max_new_tokens=32)
    before = probe.score(trainer.model, 0)
    trainer.train()
    return config.output_dir, before, trainer


def test_task_metrics_rise(trained: tuple[Path, dict[str, float], Trainer]) -> None:
    output, before, trainer = trained
    manifest = Manifest.load(output)
    history = manifest.metrics["history"]
    assert [entry["step"] for entry in history] == [6.0, 12.0]  # logged during training, and at the end
    after = manifest.metrics["final"]
    print(f"base: {before}\ntuned: {after}")
    assert before["eval_tool_name_match"] <= 0.2
    assert after["eval_tool_name_match"] >= 0.7
    assert after["eval_arguments_exact_match"] >= 0.5
    logged = [e for e in trainer.trainer.state.log_history if "eval_tool_name_match" in e]
    assert len(logged) == 2  # next to the loss, through TRL's logging (so report_to sees them)
    assert any("loss" in e for e in trainer.trainer.state.log_history)


def test_the_history_has_every_logged_step(trained: tuple[Path, dict[str, float], Trainer]) -> None:
    output, _, _ = trained
    history = read_history(output)
    assert [step for step, _ in history.series("loss")] == [3, 6, 9, 12]  # every logging_steps
    assert [step for step, _ in history.series("eval_tool_name_match")] == [6, 12]  # every eval_steps
    assert {"learning_rate", "grad_norm"} <= set(history.names)
    assert (
        history.series("eval_arguments_exact_match")[-1][1]
        == Manifest.load(output).metrics["final"]["eval_arguments_exact_match"]
    )
    with (output / HISTORY_FILE).open("a", encoding="utf-8") as stream:
        stream.write('{"step": 13, "lo')  # a line cut short by a crash
    assert read_history(output).entries == history.entries


def test_manifest_carries_the_format(trained: tuple[Path, dict[str, float], Trainer]) -> None:
    output, _, trainer = trained
    manifest = Manifest.load(output)
    assert (manifest.format, manifest.format_version, manifest.method) == ("hermes", "1", "lora")
    assert manifest.chat_template_sha256 == template_sha256(trainer.tokenizer)
    assert manifest.base_model == "smollm2-135m-instruct"
    assert manifest.data["train"]["kept"] == 48
    assert manifest.config["max_steps"] == 12
    assert {"transformers", "trl", "peft", "torch"} <= set(manifest.versions)
    assert (output / "adapter_config.json").is_file()
    assert (output / "best" / "adapter_config.json").is_file()  # the best checkpoint by the task metric


def test_saved_output_evaluates_with_its_own_format(
    trained: tuple[Path, dict[str, float], Trainer], tmp_path: Path
) -> None:
    output, _, _ = trained
    model, tokenizer, fmt, manifest = load_trained(output)
    assert fmt.name == manifest.format == "hermes"  # restored, not told
    generator = TransformersBackend(model, tokenizer, max_new_tokens=32)
    result = evaluate(tool_conversations(8, seed=3), generator.generate, tokenizer, fmt, records=tmp_path / "r.jsonl")
    assert result.metrics.values["tool_name_match"].value >= 0.7
    with pytest.raises(ConfigError, match=r"trained with another setup: format 'xml'"):
        load_trained(output, format="xml")
    _, _, xml, _ = load_trained(output, format="xml", override=True)
    assert xml.name == "xml"


def test_base_model_is_untouched_by_training(trained: tuple[Path, dict[str, float], Trainer]) -> None:
    assert not hasattr(load_model(), "peft_config")
