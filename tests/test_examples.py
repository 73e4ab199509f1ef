"""Every example in examples/ runs in its fast mode, as a user would run it, and does what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.data.demo import load_demo_dataset
from slmswap.evaluation import read_records
from slmswap.formats import get_format
from slmswap.schema import Conversation
from slmswap.train import Manifest
from tests.evaluation.openai_server import ChatServer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CANARY = "sk-slmswap-example-canary-51c2"


def run_example(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` with this interpreter; the output is shown when it fails."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(completed.stdout[-3000:], completed.stderr[-3000:], sep="\n")
    return completed


def _ids(records: Path) -> list[str]:
    return [record.id for record in read_records(records)]


@pytest.mark.slow
def test_quickstart_trains_evaluates_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    completed = run_example("quickstart.py", "--fast", "--out", str(out), cwd=tmp_path)
    assert completed.returncode == 0
    assert "16/16 examples kept" in completed.stdout
    manifest = Manifest.load(out / "model")
    assert (manifest.format, manifest.method, manifest.config["max_steps"]) == ("hermes", "lora", 3)
    assert (out / "model" / "adapter_model.safetensors").is_file()
    expected = [f"demo-test-{k:03d}" for k in range(6)]
    assert _ids(out / "base" / "records.jsonl") == expected
    assert _ids(out / "tuned" / "records.jsonl") == expected
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| metric | base | tuned |" in report
    assert "## tuned vs base (paired)" in report
    assert "| arguments_exact_match | " in completed.stdout  # the report is printed, intervals included
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.slow
def test_sharegpt_hermes_shows_the_mask_trains_and_loads_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    completed = run_example("sharegpt_hermes.py", "--fast", "--out", str(out), cwd=tmp_path)
    assert completed.returncode == 0
    assert "8 conversations loaded, 0 bad rows" in completed.stdout
    mask = completed.stdout.split("⟦trained⟧ masked", 1)[1].split("loaded ", 1)[0]
    trained = [part.split("⟧", 1)[0] for part in mask.split("⟦")[1:]]
    assert len(trained) == 2  # the call and the final answer; the tool result between them is not trained
    assert "get·_·weather" in trained[0]
    assert "<·tool·_·response·>" not in "".join(trained)
    assert "<·tool·_·response·>" in mask
    assert Manifest.load(out).format == "hermes"
    assert f"loaded {out}: format 'hermes' v1" in completed.stdout
    assert "question: What's the weather in Rome?" in completed.stdout
    assert "parsed: Message(" in completed.stdout or "not a valid answer:" in completed.stdout


@pytest.fixture
def server(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> Iterator[ChatServer]:
    running = ChatServer(model, tokenizer)
    yield running
    running.close()


@pytest.mark.slow
def test_llm_baseline_sends_the_small_models_prompts_and_resumes(
    server: ChatServer, tokenizer: PreTrainedTokenizerBase, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["--base-url", server.base_url, "--model", "loopback", "--api-key-env", "SLMSWAP_EXAMPLE_KEY"]
    args += ["--fast", "--out", str(out)]
    env = {"SLMSWAP_EXAMPLE_KEY": CANARY}
    completed = run_example("llm_baseline.py", *args, cwd=tmp_path, env=env)
    assert completed.returncode == 0
    assert "4 examples, 0 reused from an earlier run, 4 sent" in completed.stdout
    assert "| valid_output | " in completed.stdout
    assert (out / "report.md").is_file()

    # Prompt parity: the API received exactly the messages the hermes format gives the small model.
    fmt = get_format("hermes")
    expected = {
        json.dumps(fmt.chat_input(Conversation(messages=c.messages[:1], tools=c.tools)).messages)
        for c in load_demo_dataset("test")[:4]
    }
    assert {json.dumps(request["messages"]) for request in server.requests} == expected
    assert all(h.get("Authorization") == f"Bearer {CANARY}" for h in server.headers)

    # Run again: every answer is already recorded, nothing is sent.
    again = run_example("llm_baseline.py", *args, cwd=tmp_path, env=env)
    assert again.returncode == 0
    assert "4 examples, 4 reused from an earlier run, 0 sent" in again.stdout
    assert len(server.requests) == 4
    # The key went to the server and nowhere else.
    assert CANARY not in completed.stdout + completed.stderr + again.stdout + again.stderr
    for path in out.rglob("*"):
        assert not path.is_file() or CANARY not in path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_bfcl_eval_scores_a_category_from_the_wheel(bfcl_wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    completed = run_example("bfcl_eval.py", "--fast", "--wheel", str(bfcl_wheel), "--out", str(out), cwd=tmp_path)
    assert completed.returncode == 0
    assert "3 questions evaluated, skipped: none" in completed.stdout
    assert "| bfcl_ast_match | " in completed.stdout
    assert _ids(out / "simple_python" / "records.jsonl") == ["simple_python_0", "simple_python_1", "simple_python_2"]
    assert (out / "simple_python" / "report.html").is_file()


def test_bfcl_eval_without_a_wheel_says_how_to_get_it(tmp_path: Path) -> None:
    for args in ((), ("--wheel", str(tmp_path / "missing.whl"))):
        completed = run_example("bfcl_eval.py", *args, cwd=tmp_path)
        assert completed.returncode == 2
        assert "pip download --no-deps bfcl-eval==2026.3.23" in completed.stderr
    assert "no wheel at" in completed.stderr
