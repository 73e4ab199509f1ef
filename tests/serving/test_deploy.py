"""The swap deployed, end to end on CPU: a model trained for a few steps on the demo data is exported (the
session's ``exported`` fixture, shared with the gateway's end-to-end test),
``slmswap serve`` runs it with ``transformers serve`` on loopback, the official ``openai`` client reads its
``message.tool_calls``, and ``slmswap eval --api-base`` against it gives the very predictions, metrics and prompt
hashes of the local evaluation of the same model."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from slmswap.data import load_demo_dataset
from slmswap.evaluation import read_records
from slmswap.schema import Conversation
from slmswap.serving import openai_request

pytestmark = pytest.mark.slow

EXAMPLES = 3
MAX_TOKENS = 48


def _slmswap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slmswap", *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=900
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module", params=["transformers", pytest.param("vllm", marks=pytest.mark.gpu)])
def server(exported: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """``slmswap serve`` on loopback: transformers serve everywhere, vllm serve where a GPU is (marked gpu)."""
    port = _free_port()
    log = (exported.parent / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "slmswap", "serve", str(exported), "--port", str(port), "--engine", request.param],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, (exported.parent / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start within 600 s"
                time.sleep(1)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: slmswap serve stops the engine and exits
        try:
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
    assert code == 0, (exported.parent / "serve.log").read_text()
    assert f"base_url: {base_url}" in (exported.parent / "serve.log").read_text()


@pytest.fixture(scope="module")
def local_run(exported: Path) -> Path:
    out = exported.parent / "runs" / "local"
    result = _slmswap(
        "eval", "demo:test", "--model", str(exported), "--out", str(out), "--limit", str(EXAMPLES),
        "--batch-size", "1", "--max-new-tokens", str(MAX_TOKENS), cwd=exported.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def test_openai_client_reads_tool_calls(server: str, exported: Path, local_run: Path) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=server, api_key="unused")
    local = {record.id: record for record in read_records(local_run / "records.jsonl")}
    with_calls = 0
    for conversation in list(load_demo_dataset("test"))[:EXAMPLES]:
        last = conversation.assistant_indices()[-1]
        messages, tools = openai_request(Conversation(messages=conversation.messages[:last], tools=conversation.tools))
        answer = client.chat.completions.create(
            model=str(exported), messages=messages, tools=tools, temperature=0, max_tokens=MAX_TOKENS
        )
        served = [
            (c.function.name, json.loads(c.function.arguments)) for c in answer.choices[0].message.tool_calls or []
        ]
        prediction = local[conversation.id].prediction
        assert prediction is not None
        assert served == [(c.name, c.arguments) for c in prediction.tool_calls], conversation.id
        with_calls += bool(served)
    assert with_calls > 0  # the trained model does call tools, and the server returns them as tool_calls


def test_eval_against_the_server_equals_local_evaluation(server: str, exported: Path, local_run: Path) -> None:
    out = exported.parent / "runs" / f"served-{server.rsplit(':', 1)[1].split('/')[0]}"
    result = _slmswap(
        "eval", "demo:test", "--model", str(exported), "--out", str(out), "--limit", str(EXAMPLES),
        "--max-new-tokens", str(MAX_TOKENS), "--api-base", server, "--api-model", str(exported),
        cwd=exported.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    served, local = read_records(out / "records.jsonl"), read_records(local_run / "records.jsonl")
    assert [r.id for r in served] == [r.id for r in local]
    for a, b in zip(served, local, strict=True):
        assert a.prompt_hash == b.prompt_hash
        assert a.prediction == b.prediction, a.id
        assert a.scores == b.scores, a.id
    served_results = json.loads((out / "results.json").read_text())["metrics"]["values"]
    local_results = json.loads((local_run / "results.json").read_text())["metrics"]["values"]
    assert served_results == local_results


def test_doctor_checks_serving_parity_against_the_server(server: str, exported: Path) -> None:
    result = _slmswap(
        "doctor", "--output", str(exported), "--api-base", server, "--data", "demo:test", cwd=exported.parent
    )
    assert "serving_parity" in result.stdout, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "serving_parity" in line)
    assert "pass" in line.lower(), result.stdout
    assert "counts the same prompt lengths" in result.stdout, result.stdout
