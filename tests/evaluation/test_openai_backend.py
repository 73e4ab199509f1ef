"""The OpenAI-compatible backend against a real HTTP server on loopback serving the default model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.errors import BackendError
from slmswap.evaluation import TransformersBackend, evaluate, read_records
from slmswap.evaluation.openai import OpenAIBackend
from slmswap.formats import get_format
from tests.evaluation.openai_server import ChatServer
from tests.evaluation.test_runner import conversations

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CANARY = "sk-slmswap-canary-7f3a9c"


@pytest.fixture
def server(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> Iterator[ChatServer]:
    running = ChatServer(model, tokenizer)
    yield running
    running.close()


def test_prompt_parity_and_identical_answers(
    server: ChatServer,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLMSWAP_TEST_KEY", CANARY)
    fmt = get_format("hermes")
    data = conversations()[:3]
    local = evaluate(
        data,
        TransformersBackend(model, tokenizer, batch_size=3, max_new_tokens=12).generate,
        tokenizer,
        fmt,
        records=tmp_path / "local.jsonl",
    )
    backend = OpenAIBackend(server.base_url, "smollm2", api_key_env="SLMSWAP_TEST_KEY", concurrency=2)
    remote = evaluate(
        data, backend.generate, tokenizer, fmt, records=tmp_path / "api.jsonl", results=tmp_path / "r.json"
    )

    # The API was sent exactly the system prompt and messages the small model saw ...
    for request, conversation in zip(
        sorted(server.requests, key=lambda r: r["messages"][1]["content"]),
        sorted(data, key=lambda c: c.messages[0].content or ""),
        strict=True,
    ):
        assert request["messages"][0] == {"role": "system", "content": fmt.system_prompt(conversation)}
        assert request["messages"][1:] == fmt.chat_input(conversation).messages[1:-1]
    # ... so a server rendering them with the same template sees the very same prompt text ...
    local_prompts = {
        fmt.render(tokenizer, type(c)(messages=c.messages[:1], tools=c.tools), add_generation_prompt=True) for c in data
    }
    assert set(server.prompts) == local_prompts
    # ... and answers the same.
    assert [r.raw_output for r in read_records(tmp_path / "api.jsonl")] == [
        r.raw_output for r in read_records(tmp_path / "local.jsonl")
    ]
    assert remote.metrics == local.metrics
    assert remote.system_prompt_source == fmt.system_prompt_source
    # The key went to the server, and nowhere else.
    assert all(h.get("Authorization") == f"Bearer {CANARY}" for h in server.headers)
    for path in tmp_path.iterdir():
        assert CANARY not in path.read_text()
    assert CANARY not in repr(backend)


def test_retries_on_429_then_gives_up_with_a_clean_error(
    server: ChatServer, tokenizer: PreTrainedTokenizerBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLMSWAP_TEST_KEY", CANARY)
    fmt = get_format("hermes")
    server.fail_first = 2
    backend = OpenAIBackend(server.base_url, "smollm2", api_key_env="SLMSWAP_TEST_KEY", backoff=0.01, concurrency=1)
    result = evaluate(conversations()[:1], backend.generate, tokenizer, fmt, records=tmp_path / "r.jsonl")
    assert result.examples == 1
    assert len(server.headers) == 3  # two refusals, then the answer

    server.fail_first = 10
    impatient = OpenAIBackend(server.base_url, "smollm2", api_key_env="SLMSWAP_TEST_KEY", backoff=0.01, max_retries=2)
    gave_up = evaluate(conversations()[1:2], impatient.generate, tokenizer, fmt, records=tmp_path / "r2.jsonl")
    (record,) = read_records(tmp_path / "r2.jsonl")  # recorded as a failed example; the evaluation went on
    assert record.failure == "backend_error"
    assert record.detail == "HTTP 429 after 3 attempt(s)"
    assert gave_up.examples == 1
    assert CANARY not in (tmp_path / "r2.jsonl").read_text()


def test_native_tool_calls_are_normalised(server: ChatServer, tokenizer: PreTrainedTokenizerBase) -> None:
    from slmswap.evaluation.openai import _generation

    answer = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                }
            }
        ],
        "usage": {"completion_tokens": 9},
    }
    generation = _generation(answer, 0.1)
    assert generation.tool_calls[0].name == "get_weather"
    assert generation.tool_calls[0].arguments == {"city": "Paris"}
    assert generation.tokens == 9


def test_unreachable_server_is_a_clean_error() -> None:
    from slmswap.evaluation.backend import Prompt
    from slmswap.formats import ChatInput

    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", max_retries=1, backoff=0.01, timeout=2)
    with pytest.raises(BackendError, match="unreachable after 2 attempt"):
        backend.generate([Prompt(text="x", chat=ChatInput(messages=[{"role": "user", "content": "hi"}]))])


def test_a_redirect_is_not_followed_and_the_key_stays_home(monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import threading

    from slmswap.evaluation.backend import Prompt
    from slmswap.formats import ChatInput

    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.2:{self.server.server_address[1]}/v1/chat/completions")
            self.end_headers()

    redirector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    monkeypatch.setenv("SLMSWAP_TEST_KEY", CANARY)
    try:
        backend = OpenAIBackend(
            f"http://127.0.0.1:{redirector.server_address[1]}/v1", "m", api_key_env="SLMSWAP_TEST_KEY"
        )
        with pytest.raises(BackendError, match="redirects are not followed") as info:
            backend.generate([Prompt(text="x", chat=ChatInput(messages=[{"role": "user", "content": "hi"}]))])
    finally:
        redirector.shutdown()
    assert len(seen) == 1  # one request, to the configured host only
    assert "127.0.0.2" in str(info.value)
    assert CANARY not in str(info.value)
