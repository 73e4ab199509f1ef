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
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _banning(tokenizer: Any, char: str) -> dict[str, float]:
    """A ``logit_bias`` that bans every ordinary token whose text holds ``char``."""
    special = set(tokenizer.all_special_ids)
    # floats: transformers serve refuses (with a 500) the integers the OpenAI API documents
    return {str(i): -100.0 for i in range(len(tokenizer)) if i not in special and char in tokenizer.decode([i])}


def test_what_the_model_writes_never_gets_a_500(server: str, exported: Path, local_run: Path) -> None:
    """Malformed calls (the model kept from writing "}"), calls cut off at max_tokens, prose (kept from writing
    "<") and calls to a tool the request did not offer: each is HTTP 200 (max_retries=0: the client would raise
    on a 500), as content with no tool_calls; a streamed malformed answer too."""
    from openai import OpenAI
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(exported))
    client = OpenAI(base_url=server, api_key="unused", max_retries=0)
    requests = {
        "malformed": {"logit_bias": _banning(tokenizer, "}"), "max_tokens": MAX_TOKENS},
        "truncated": {"max_tokens": 8},
        "prose": {"logit_bias": _banning(tokenizer, "<"), "max_tokens": MAX_TOKENS},
    }
    other_tool = [{"type": "function", "function": {"name": "unrelated_tool", "parameters": {"type": "object"}}}]
    sent: Counter[str] = Counter()
    for conversation in list(load_demo_dataset("test"))[:EXAMPLES]:
        last = conversation.assistant_indices()[-1]
        messages, tools = openai_request(Conversation(messages=conversation.messages[:last], tools=conversation.tools))
        for kind, options in requests.items():
            answer = client.chat.completions.create(
                model=str(exported), messages=messages, tools=tools, temperature=0, **options
            )
            choice = answer.choices[0]
            text = choice.message.content or ""
            assert not choice.message.tool_calls, (kind, text)
            assert text.strip(), kind
            if kind == "truncated":
                assert choice.finish_reason == "length", text
            if kind == "prose":
                assert "<tool_call" not in text
            sent[kind] += kind == "prose" or "<tool_call" in text
        answer = client.chat.completions.create(
            model=str(exported), messages=messages, tools=other_tool, temperature=0, max_tokens=MAX_TOKENS
        )
        message = answer.choices[0].message
        assert all(call.function.name == "unrelated_tool" for call in message.tool_calls or []), message
        sent["unknown_tool"] += not message.tool_calls and "<tool_call" in (message.content or "")
        stream = client.chat.completions.create(
            model=str(exported), messages=messages, tools=tools, temperature=0, stream=True, **requests["malformed"]
        )
        chunks = list(stream)
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        assert not any(chunk.choices and chunk.choices[0].delta.tool_calls for chunk in chunks)
        sent["streamed_malformed"] += "<tool_call" in streamed
    print(f"\nanswers sent, all HTTP 200: {dict(sent)}")
    # Each kind happened (a call was written and left unreadable) on at least one prompt.
    for kind in ("malformed", "truncated", "prose", "streamed_malformed"):
        assert sent[kind], sent
