"""Training jobs as YAML: keys mirror Trainer's arguments, paths are read from the file's directory, errors name
the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmswap.data.named import load_data
from slmswap.errors import ConfigError
from slmswap.train import TrainConfig
from slmswap.train.job import TrainJob


def test_paths_are_read_from_the_files_directory(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    (tmp_path / "data.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    (tmp_path / "jobs" / "job.yaml").write_text(
        "train: ../data.jsonl\neval: demo:test\nformat: cep\nformat_options: {variant: compact}\n"
        "config:\n  max_steps: 3\n  output_dir: out\n",
        encoding="utf-8",
    )
    job = TrainJob.from_yaml(tmp_path / "jobs" / "job.yaml")
    assert job.config == TrainConfig(max_steps=3, output_dir=tmp_path.resolve() / "jobs" / "out")
    assert [c.messages[1].content for c in job.load_train()] == ["hello"]
    assert len(job.load_eval()) == 60
    assert job.load_format(tokenizer=None).options() == {"variant": "compact"}  # type: ignore[arg-type]


def test_to_yaml_round_trips(tmp_path: Path) -> None:
    job = TrainJob(train="demo:train", format="xml", config=TrainConfig(max_steps=7, output_dir=tmp_path / "o"))
    (tmp_path / "job.yaml").write_text(job.to_yaml(), encoding="utf-8")
    again = TrainJob.from_yaml(tmp_path / "job.yaml")
    assert again.model_dump(exclude={"base"}) == job.model_dump(exclude={"base"})


def test_a_job_with_max_steps_shows_no_epochs() -> None:
    stepped = TrainJob(train="demo:train", config=TrainConfig(max_steps=24)).to_yaml()
    assert "max_steps: 24" in stepped
    assert "epochs" not in stepped  # max_steps decides; an epochs line would say something that does not happen
    assert "epochs: 2.0" in TrainJob(train="demo:train", config=TrainConfig(epochs=2)).to_yaml()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train: demo:train\nepochs: 2\n", "field 'epochs': Extra inputs are not permitted"),
        ("train: demo:train\nconfig:\n  batch_size: 0\n", "field 'config.batch_size': Input should be greater than 0"),
        ("eval: demo:test\n", "field 'train': Field required"),
        ("- train\n", "expected a mapping of Trainer arguments, got list"),
        ("train: [unclosed\n", "cannot read YAML"),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        TrainJob.from_yaml(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_data_sources(tmp_path: Path) -> None:
    assert len(load_data("demo:train")) == 320
    with pytest.raises(ConfigError, match="'demo:valid': the demo dataset has the splits"):
        load_data("demo:valid")
    with pytest.raises(ConfigError, match="no such data file"):
        load_data("missing.jsonl", base=tmp_path)
