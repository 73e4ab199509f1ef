"""The gateway end to end, every part real: the "hosted LLM" is ``slmswap serve`` of a demo export (it produces
real tool calls), ``slmswap gateway`` records in front of it, and the official ``openai`` client plays the app,
sending the demo's conversations with their tools, plain and streamed. Then the store is read back
(``slmswap traffic``, ``traffic export`` and ``load_openai``) and trained on (``slmswap train`` on ``traffic:``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmswap.data import load_demo_dataset, load_openai
from slmswap.data.openai import openai_request
from slmswap.gateway import load_traffic, read_exchanges
from slmswap.schema import Conversation, Message, ToolCall
from tests.cli.cli import slmswap
from tests.gateway.processes import served, start_slmswap, stop
from tests.gateway.standin import free_port

pytestmark = pytest.mark.slow

EXAMPLES = 3
MAX_TOKENS = 48


@pytest.fixture(scope="module")
def stack(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """``slmswap serve`` of the export, and ``slmswap gateway`` in front of it: their base URLs and the store."""
    root = tmp_path_factory.mktemp("gateway-e2e")
    gateway_port = free_port()
    store = root / "traffic.db"
    with served(exported, root / "serve.log") as (upstream, _):
        gateway = start_slmswap(
            ["gateway", "--upstream", upstream, "--store", str(store), "--port", str(gateway_port)],
            root / "gateway.log",
            f"http://127.0.0.1:{gateway_port}/healthz",
            60,
        )
        try:
            yield upstream, f"http://127.0.0.1:{gateway_port}/v1", store
        finally:
            assert stop(gateway) == 0, (root / "gateway.log").read_text()


def _prompts() -> list[Conversation]:
    prompts = []
    for conversation in list(load_demo_dataset("test"))[:EXAMPLES]:
        last = conversation.assistant_indices()[-1]
        prompts.append(Conversation(messages=conversation.messages[:last], tools=conversation.tools))
    return prompts


def _ask(client: Any, model: str, prompt: Conversation, stream: bool) -> Message:
    """The answer as the app sees it (a stream's deltas joined, as an app does)."""
    messages, tools = openai_request(prompt)
    answer = client.chat.completions.create(
        model=model, messages=messages, tools=tools, temperature=0, max_tokens=MAX_TOKENS, stream=stream
    )
    if not stream:
        message = answer.choices[0].message
        calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        content = message.content
    else:
        content, pieces = "", {}
        for chunk in answer:
            for choice in chunk.choices:
                content += choice.delta.content or ""
                for call in choice.delta.tool_calls or []:
                    entry = pieces.setdefault(call.index, [call.id, "", ""])
                    entry[0] = call.id or entry[0]
                    entry[1] += call.function.name or "" if call.function else ""
                    entry[2] += call.function.arguments or "" if call.function else ""
        calls = [tuple(pieces[k]) for k in sorted(pieces)]
        content = content or None
    tool_calls = tuple(ToolCall(name=name, arguments=json.loads(arguments), id=cid) for cid, name, arguments in calls)
    return Message(role="assistant", content=content or None, tool_calls=tool_calls)


def test_the_openai_client_through_the_gateway_gets_what_it_gets_directly_and_every_exchange_is_recorded(
    stack: tuple[str, str, Path], exported: Path, tmp_path: Path
) -> None:
    from openai import OpenAI

    upstream, gateway, store = stack
    direct_client = OpenAI(base_url=upstream, api_key="unused")
    gateway_client = OpenAI(base_url=gateway, api_key="unused")
    sent: list[tuple[Conversation, Message]] = []
    for prompt in _prompts():
        for stream in (False, True):
            direct = _ask(direct_client, str(exported), prompt, stream)
            through = _ask(gateway_client, str(exported), prompt, stream)
            assert (through.content, [(c.name, c.arguments) for c in through.tool_calls]) == (
                direct.content,
                [(c.name, c.arguments) for c in direct.tool_calls],
            ), prompt.messages[-1].content
            sent.append((prompt, through))
    assert any(answer.tool_calls for _, answer in sent), "the served model made no tool call"

    rows = list(read_exchanges(store))
    assert len(rows) == len(sent)  # exactly one row per request
    assert [row["stream"] for row in rows] == [False, True] * EXAMPLES
    for row, (_, answer) in zip(rows, sent, strict=True):
        assert row["status"] == 200
        assert row["error"] is None
        calls = [(c["function"]["name"], c["function"]["arguments"]) for c in row["tool_calls"] or []]
        assert calls == [(c.name, c.arguments) for c in answer.tool_calls]  # parsed: object arguments

    recorded = load_traffic(store)
    assert [(c.messages, c.tools) for c in recorded] == [((*p.messages, answer), p.tools) for p, answer in sent]

    summary = slmswap("traffic", store)
    assert summary.returncode == 0, summary.stderr
    assert f"{len(sent)} requests ({EXAMPLES} streamed), 0 errors" in summary.stdout

    out = tmp_path / "traffic.jsonl"
    exported_rows = slmswap("traffic", "export", store, out)
    assert exported_rows.returncode == 0, exported_rows.stderr
    assert list(load_openai(out)) == list(recorded)  # the same conversations, ids included

    job = tmp_path / "job.yaml"
    job.write_text(
        yaml.safe_dump(
            {
                "train": f"traffic:{store}",
                "config": {"max_steps": 1, "batch_size": 2, "output_dir": str(tmp_path / "adapter")},
            }
        )
    )
    trained = slmswap("train", job, "--force")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert (tmp_path / "adapter" / "slmswap.json").is_file()
