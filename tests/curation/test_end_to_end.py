"""End to end from the gateway's store: the demo's requests go through ``slmswap``'s gateway (in front of a
stand-in hosted LLM, a real HTTP server answering with the demo's answers) with the official ``openai`` client,
some repeated word for word, some paraphrased, one failing upstream; then ``slmswap curate traffic:STORE``,
``slmswap train`` on the curated split, ``slmswap eval`` of the tuned model and of the LLM on the held-out split,
and ``slmswap report --curation``: the report shows the curation section and says the LLM is the ceiling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai import APIStatusError, OpenAI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slmswap.curation import read_curation
from slmswap.data import load_conversations, load_demo_dataset
from slmswap.data.openai import openai_message, openai_request
from slmswap.gateway import GatewayConfig, create_app
from tests.cli.cli import slmswap
from tests.gateway.standin import serve_in_thread

pytestmark = pytest.mark.slow

SENT, REPEATED, PARAPHRASED = 60, 10, 6


def _hosted_llm(answers: dict[str, dict[str, Any]]) -> Starlette:
    """Answers each request with the demo's answer to its last user message; the model "broken" gets a 502."""

    async def chat(request: Request) -> Response:
        body = json.loads(await request.body())
        if body.get("model") == "broken":
            return JSONResponse({"error": {"message": "upstream is down"}}, status_code=502)
        users = [m for m in body["messages"] if m.get("role") == "user"]
        message = answers[users[-1]["content"]]
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        choice = {"index": 0, "message": message, "finish_reason": finish}
        usage = {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
        return JSONResponse(
            {"id": "x", "object": "chat.completion", "model": "llm", "choices": [choice], "usage": usage}
        )

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("e2e")
    demo = list(load_demo_dataset("train"))[:SENT]
    answers: dict[str, dict[str, Any]] = {}
    requests = []
    for conversation in demo:
        user = conversation.messages[0].content or ""
        answers[user] = openai_message(conversation.messages[-1])
        requests.append((user, conversation))
    for user, _ in requests[REPEATED : REPEATED + PARAPHRASED]:
        answers[user + " Thanks a lot!"] = answers[user]
    store = directory / "traffic.db"
    with serve_in_thread(_hosted_llm(answers)) as upstream:
        config = GatewayConfig(upstream=f"{upstream}/v1", store=str(store))
        with serve_in_thread(create_app(config)) as gateway:
            client = OpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0)
            sent = [(user, c) for user, c in requests]
            sent += requests[:REPEATED]  # word for word again
            sent += [(user + " Thanks a lot!", c) for user, c in requests[REPEATED : REPEATED + PARAPHRASED]]
            for user, conversation in sent:
                messages, tools = openai_request(
                    conversation.model_copy(update={"messages": conversation.messages[:1]})
                )
                messages[0]["content"] = user
                client.chat.completions.create(model="llm", messages=messages, tools=tools)  # type: ignore[arg-type]
            with pytest.raises(APIStatusError):
                client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "hello?"}])
        curated = slmswap("curate", f"traffic:{store}", "--out", directory / "curated")
        assert curated.returncode == 0, curated.stderr
        job = directory / "job.yaml"
        job.write_text(
            yaml.safe_dump(
                {
                    "train": str(directory / "curated" / "train.jsonl"),
                    "config": {"max_steps": 1, "batch_size": 2, "output_dir": str(directory / "adapter")},
                }
            )
        )
        trained = slmswap("train", job, "--force")
        assert trained.returncode == 0, trained.stdout + trained.stderr
        test = directory / "curated" / "test.jsonl"
        limit = ["--limit", "4", "--max-new-tokens", "48"]
        tuned = slmswap("eval", test, "--model", directory / "adapter", "--out", directory / "runs" / "tuned", *limit)
        assert tuned.returncode == 0, tuned.stderr
        api = ["--api-base", f"{upstream}/v1", "--api-model", "llm"]
        llm = slmswap("eval", test, *api, "--out", directory / "runs" / "llm", *limit)
        assert llm.returncode == 0, llm.stderr
    runs = [directory / "runs" / "llm", directory / "runs" / "tuned"]
    report = slmswap("report", *runs, "--curation", directory / "curated", "--out", directory / "report")
    assert report.returncode == 0, report.stderr
    return directory


def test_curate_counts_the_repeats_the_paraphrases_and_the_failure(workflow: Path) -> None:
    report = read_curation(workflow / "curated")
    assert report.counts.read == SENT + REPEATED + PARAPHRASED + 1
    assert report.counts.dropped == {"upstream_error": 1}
    assert report.counts.exact_duplicates >= REPEATED
    assert report.self_agreement.requests >= REPEATED
    grouped = {example_id for group in report.near_duplicate_groups for example_id in group}
    assert len(grouped) >= 2 * PARAPHRASED
    assert report.leakage.straddling_groups == 0


def test_paraphrases_stay_on_the_side_of_their_original(workflow: Path) -> None:
    sides: dict[str, set[str]] = {}
    for side in ("train", "test"):
        for conversation in load_conversations(workflow / "curated" / f"{side}.jsonl"):
            original = (conversation.messages[0].content or "").removesuffix(" Thanks a lot!")
            sides.setdefault(original, set()).add(side)
    assert all(len(found) == 1 for found in sides.values())


def test_the_report_shows_the_curation_section_and_the_llm_ceiling(workflow: Path) -> None:
    markdown = (workflow / "report" / "report.md").read_text()
    page = (workflow / "report" / "report.html").read_text()
    assert "## Curation" in markdown
    assert "the LLM is the ceiling on this data, not a baseline to beat" in markdown
    assert "no figure here says it beats the LLM" in markdown
    assert "<h2>Curation</h2>" in page
    assert "tuned with the labels" in page
