"""Bad input at the command line exits 2 with a message naming what is wrong, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cli.cli import slmswap

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

GOOD_ROW = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}\n'


def _job(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "data.jsonl").write_text(GOOD_ROW * 2)
    job = tmp_path / "job.yaml"
    job.write_text(f"train: data.jsonl\nconfig:\n  max_steps: 1\n  output_dir: out\n{extra}")
    return job


def _assert_exit_2(result: object, *expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    for text in expected:
        assert text in result.stderr, result.stderr  # type: ignore[attr-defined]


def test_an_existing_file_as_output(tmp_path: Path, tokenizer: PreTrainedTokenizerBase) -> None:
    from slmswap.data import load_conversations
    from slmswap.evaluation import Generation, evaluate_into
    from slmswap.formats import get_format

    blocker = tmp_path / "taken"
    blocker.write_text("not a directory")
    (tmp_path / "data.jsonl").write_text(GOOD_ROW)
    answer = [Generation(text="ok", tokens=1, seconds=0.0)]
    run = tmp_path / "run"
    evaluate_into(run, load_conversations(tmp_path / "data.jsonl"), lambda p: answer, tokenizer, get_format("hermes"))
    _assert_exit_2(slmswap("report", run, "--out", blocker), str(blocker))
    _assert_exit_2(slmswap("demo", "--out", blocker), str(blocker))
    _assert_exit_2(slmswap("eval", tmp_path / "data.jsonl", "--out", blocker), str(blocker))
    job = _job(tmp_path, "").read_text().replace("output_dir: out", f"output_dir: {blocker}")
    (tmp_path / "job.yaml").write_text(job)
    _assert_exit_2(slmswap("train", tmp_path / "job.yaml"), "exists and is not a directory")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  sft:\n    no_such_setting: 1\n", "sft: 'no_such_setting' is not a SFTConfig setting"),
        ("  peft:\n    bogus: 2\n", "peft: 'bogus' is not a LoraConfig setting"),
        ("  seed: -1\n", "config.seed"),
        ("  learning_rate: .inf\n", "config.learning_rate"),
    ],
)
def test_bad_training_settings(tmp_path: Path, extra: str, expected: str) -> None:
    _assert_exit_2(slmswap("train", _job(tmp_path, extra)), expected)


def test_yaml_that_is_not_utf8_or_nested_too_deep(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("train: données.jsonl\n".encode("latin-1"))
    _assert_exit_2(slmswap("train", latin), "not UTF-8 text")
    deep = tmp_path / "deep.yaml"
    deep.write_text("train: " + "[" * 100_000 + "]" * 100_000 + "\n")
    _assert_exit_2(slmswap("train", deep), str(deep))


def test_an_api_base_that_is_not_a_url(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text(GOOD_ROW)
    result = slmswap("eval", tmp_path / "data.jsonl", "--out", tmp_path / "run", "--api-base", "notaurl",
                     "--api-model", "m")  # fmt: skip
    _assert_exit_2(result, "must be http:// or https://")


def test_an_empty_model_directory(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text(GOOD_ROW)
    (tmp_path / "empty").mkdir()
    result = slmswap("eval", tmp_path / "data.jsonl", "--out", tmp_path / "run", "--model", tmp_path / "empty")
    _assert_exit_2(result, "the directory is empty")


def test_doctor_on_a_corrupt_manifest(tmp_path: Path) -> None:
    (tmp_path / "slmswap.json").write_bytes(b"\xff\xfe\x00garbage")
    _assert_exit_2(slmswap("doctor", "--output", tmp_path), "slmswap.json")
    (tmp_path / "slmswap.json").write_text('{"format": ')
    _assert_exit_2(slmswap("doctor", "--output", tmp_path), "slmswap.json")
