"""``slmswap doctor`` fails with the right reason on the seed project's mistakes, and passes on a sound setup."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.cli import slmswap

SEED_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""The seed project's hand-written format: role markers as plain strings that the vocabulary lacks."""


def _status(stdout: str, check: str) -> str:
    """The status printed for ``check`` ("PASS", "WARN", "FAIL" or "skip")."""
    for line in stdout.splitlines():
        if line.startswith("[") and f"] {check}:" in line:
            return line[1:5]
    raise AssertionError(f"no line for {check!r} in:\n{stdout}")


def test_passes_on_the_demo_setup(tokenizer: object) -> None:
    result = slmswap("doctor", "--data", "demo:train")
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("special_tokens", "renders_through_template", "train_eval_boundary", "end_of_turn", "truncation"):
        assert _status(result.stdout, check) == "PASS", check
    assert "doctor: ok" in result.stdout


def test_fails_on_hand_written_role_tokens_in_the_data(tmp_path: Path, tokenizer: object) -> None:
    data = tmp_path / "seed.jsonl"
    rows = [
        {"prompt": "<|system|>\nYou are a bot.\n<|user|>\nWeather in Paris?\n<|assistant|>\n", "completion": "Sunny."},
        {"prompt": "<|system|>\nYou are a bot.\n<|user|>\nWeather in Rome?\n<|assistant|>\n", "completion": "Rainy."},
    ]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    result = slmswap("doctor", "--data", data)
    assert result.returncode == 1
    assert _status(result.stdout, "special_tokens") == "FAIL"
    assert "'<|system|>' looks like a special token but is not one in this tokenizer" in result.stdout
    assert "doctor: FAILED" in result.stdout


def test_fails_on_the_seed_projects_hand_written_chat_template(tmp_path: Path, tokenizer: object) -> None:
    (tmp_path / "seed.jinja").write_text(SEED_TEMPLATE, encoding="utf-8")
    (tmp_path / "job.yaml").write_text("train: demo:train\nchat_template: seed.jinja\n", encoding="utf-8")
    result = slmswap("doctor", "--config", tmp_path / "job.yaml")
    assert result.returncode == 1
    assert _status(result.stdout, "special_tokens") == "FAIL"
    assert "'<|user|>' looks like a special token" in result.stdout


def test_fails_when_targets_would_be_truncated(tokenizer: object) -> None:
    result = slmswap("doctor", "--data", "demo:train", "--max-length", "400")
    assert result.returncode == 1
    assert _status(result.stdout, "truncation") == "FAIL"
    line = next(line for line in result.stdout.splitlines() if "] truncation:" in line)
    assert "would lose trained tokens at max_length=400" in line
