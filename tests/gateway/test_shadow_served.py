"""Shadow mode end to end with real servers: the small model is ``slmswap serve`` of the demo export, the hosted
LLM a stand-in that answers each held-out demo prompt with its reference answer (tests/gateway/reference_llm.py),
and the app is the official ``openai`` client. The app gets the LLM's answer byte for byte; every row holds both
answers; and ``slmswap live`` on the store gives the very figures (same values, same n, overall and per tool) that
an offline ``slmswap eval`` of the same export gives on the same prompts, scored against the LLM's answers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slmswap.data import load_demo_dataset
from slmswap.data.openai import openai_request
from slmswap.data.traffic import load_traffic
from slmswap.evaluation import EvaluationResult, read_records
from slmswap.gateway import EXCHANGE_HEADER, GatewayConfig, create_app, read_exchanges
from slmswap.live import LIVE_METRICS, live_verdict, read_store, scored_pair
from slmswap.metrics import Abstention, ArgumentsExactMatch, ToolNameMatch, ValidCall
from slmswap.schema import Conversation
from tests.cli.cli import slmswap
from tests.gateway.processes import served
from tests.gateway.reference_llm import MODEL, reference_llm
from tests.gateway.standin import serve_in_thread

pytestmark = pytest.mark.slow

MAX_TOKENS = 48
"""The app's ``max_tokens``, and the offline evaluation's ``--max-new-tokens``."""


def held_out() -> list[Conversation]:
    """Ten held-out demo conversations: two answered without a call, three with two calls, five with one."""
    test = load_demo_dataset("test")
    by_calls = {n: [c for c in test if len(c.messages[-1].tool_calls) == n] for n in (0, 1, 2)}
    return by_calls[0][:2] + by_calls[2][:3] + by_calls[1][:5]


def _request(conversation: Conversation) -> dict[str, Any]:
    """What the app sends for the conversation's prompt (everything before its last assistant turn)."""
    last = conversation.assistant_indices()[-1]
    messages, tools = openai_request(Conversation(messages=conversation.messages[:last], tools=conversation.tools))
    return {"model": "gpt-4o-mini", "messages": messages, "tools": tools, "temperature": 0, "max_tokens": MAX_TOKENS}


@dataclass
class Shadowed:
    """The held-out prompts sent through a shadow-mode gateway: the store, and each answer as the app got it and
    as the LLM's stand-in gives it when asked directly (raw response bodies)."""

    store: Path
    prompts: list[Conversation]
    through: list[bytes]
    direct: list[bytes]


def _await_pair(store: Path, exchange: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not any(row["id"] == exchange and row["slm_ms"] is not None for row in read_exchanges(store)):
        assert time.monotonic() < deadline, f"no small model's answer to {exchange} within {timeout:g} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def shadowed(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Shadowed:
    from openai import OpenAI

    root = tmp_path_factory.mktemp("shadow-served")
    store = root / "traffic.db"
    prompts = held_out()
    through, direct = [], []
    with served(exported, root / "serve.log") as (slm, _), reference_llm(load_demo_dataset("test")) as llm:
        config = GatewayConfig(upstream=llm, store=str(store), slm=slm, mode="shadow", slm_model=str(exported),
                               slm_timeout=600)  # fmt: skip
        with serve_in_thread(create_app(config)) as gateway:
            app = OpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0)
            hosted = OpenAI(base_url=llm, api_key="unused", max_retries=0)
            for prompt in prompts:
                raw = app.chat.completions.with_raw_response.create(**_request(prompt))
                through.append(raw.http_response.content)
                direct.append(
                    hosted.chat.completions.with_raw_response.create(**_request(prompt)).http_response.content
                )
                # The next prompt once this one's pair is whole: transformers serve answers one request at a
                # time and drops one that waited a minute in its queue, which ten at once would on a busy CPU.
                _await_pair(store, raw.headers[EXCHANGE_HEADER])
        # the gateway's shutdown waits for the pairs still coming
    return Shadowed(store, prompts, through, direct)


def test_the_app_gets_the_llms_answer_byte_for_byte_and_every_row_holds_both_answers(
    shadowed: Shadowed, exported: Path
) -> None:
    assert shadowed.through == shadowed.direct
    rows = list(read_exchanges(shadowed.store))
    assert len(rows) == len(shadowed.prompts)
    for row, prompt, body in zip(rows, shadowed.prompts, shadowed.direct, strict=True):
        assert (row["mode"], row["answered_by"], row["fallback_reason"]) == ("shadow", "llm", None)
        assert row["messages"] == _request(prompt)["messages"]
        # the LLM's side: its answer as the app got it
        message = json.loads(body)["choices"][0]["message"]
        assert (row["status"], row["upstream_model"], row["content"]) == (200, MODEL, message["content"])
        sent = [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls", [])]
        assert [(c["function"]["name"], c["function"]["arguments"]) for c in row["tool_calls"] or []] == sent
        # the small model's side: a whole answer from the served export
        assert (row["slm_status"], row["slm_error"], row["slm_model"]) == (200, None, str(exported))
        assert row["slm_content"] or row["slm_tool_calls"]
        assert row["slm_completion_tokens"] > 0
        assert row["slm_ms"] > 0
    assert any(row["slm_tool_calls"] for row in rows), "the served model made no tool call"


def test_the_live_verdict_equals_the_offline_evaluation_of_the_same_model_on_the_same_prompts(
    shadowed: Shadowed, exported: Path, tmp_path: Path
) -> None:
    # The store's conversations are the held-out prompts, each with the LLM's answer as its reference.
    recorded = list(load_traffic(shadowed.store))
    assert [(c.messages[:-1], c.tools) for c in recorded] == [(p.messages[:-1], p.tools) for p in shadowed.prompts]
    assert [[(t.name, t.arguments) for t in c.messages[-1].tool_calls] for c in recorded] == [
        [(t.name, t.arguments) for t in p.messages[-1].tool_calls] for p in shadowed.prompts
    ]
    out = tmp_path / "offline"
    result = slmswap(
        "eval", f"traffic:{shadowed.store}", "--model", exported, "--out", out, "--batch-size", "1",
        "--max-new-tokens", str(MAX_TOKENS), "--threads", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    offline = EvaluationResult.model_validate_json((out / "results.json").read_text()).metrics
    records = {record.id: record for record in read_records(out / "records.jsonl")}

    # Pair by pair: the served answer is what the offline evaluation generated (its calls, or its text as the
    # model wrote it: a call cut off at max_tokens is served as content), and scores the same.
    pairs = list(read_store(shadowed.store))
    assert sorted(records) == sorted(pair.id for pair in pairs)
    metrics = [ValidCall(), ToolNameMatch(), ArgumentsExactMatch(), Abstention()]
    for pair in pairs:
        record, answer, example = records[pair.id], pair.slm, scored_pair(pair)
        assert answer is not None
        assert example is not None
        if answer.tool_calls:
            assert record.prediction is not None, (pair.id, record.raw_output)
            written = [(c.name, c.arguments) for c in record.prediction.tool_calls]
            assert [(c.name, c.arguments) for c in answer.tool_calls] == written, pair.id
        else:
            assert answer.content == record.raw_output, pair.id
        assert {m.name: m.score(example) for m in metrics} == {m.name: record.scores[m.name] for m in metrics}

    # The figures: the same values and n, overall and per tool the LLM called.
    report = live_verdict(shadowed.store)
    live = {name: (figure.value, figure.n) for name, figure in report.agreement.overall.items()}
    assert live == {name: (offline.values[name].value, offline.values[name].n) for name in LIVE_METRICS}
    assert set(report.agreement.by_tool) == set(offline.by_tool)
    for tool, figures in report.agreement.by_tool.items():
        expected = {name: (v.value, v.n) for name, v in offline.by_tool[tool].items() if name in LIVE_METRICS}
        assert {name: (f.value, f.n) for name, f in figures.items()} == expected, tool
    assert 0 < live["tool_name_match"][0] < 1  # the model agrees on some prompts and not on others
    print(f"\nlive = offline: {live}")

    shown = slmswap("live", shadowed.store)
    assert shown.returncode == 0, shown.stderr
    for name, (value, n) in live.items():
        assert f"| {name} | {n} | {value:.3f} |" in shown.stdout, shown.stdout
