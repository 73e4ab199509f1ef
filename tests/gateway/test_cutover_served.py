"""Cut-over with real servers: ``slmswap gateway --mode slm`` in front of ``slmswap serve`` of the demo export,
the hosted LLM a stand-in answering each held-out demo prompt with its reference answer, the official ``openai``
client as the app. The small model's server is killed (SIGKILL) mid-run: every request is still answered, by
the LLM once the small model is gone, and every fallback is stored with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmswap.data import load_demo_dataset
from slmswap.gateway import ANSWERED_BY_HEADER, EXCHANGE_HEADER, GatewayConfig, create_app, read_exchanges
from slmswap.live import live_verdict
from tests.gateway.processes import kill_tree, served
from tests.gateway.reference_llm import MODEL, reference_llm
from tests.gateway.standin import serve_in_thread
from tests.gateway.test_shadow_served import _request, held_out

pytestmark = pytest.mark.slow


def test_killing_the_small_model_mid_run_leaves_every_client_answered_and_every_fallback_stored(
    exported: Path, tmp_path: Path
) -> None:
    from openai import OpenAI

    store = tmp_path / "traffic.db"
    prompts = held_out()[:8]
    answers: list[tuple[str, str, str]] = []  # (exchange id, answered by, the answer's model)
    with served(exported, tmp_path / "serve.log") as (slm, process), reference_llm(load_demo_dataset("test")) as llm:
        config = GatewayConfig(upstream=llm, store=str(store), slm=slm, mode="slm", slm_model=str(exported),
                               slm_timeout=120, hedge=False)  # fmt: skip
        with serve_in_thread(create_app(config)) as gateway:
            app = OpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0)
            for k, prompt in enumerate(prompts):
                if k == 4:
                    kill_tree(process)  # the small model's server dies between two requests
                raw = app.chat.completions.with_raw_response.create(**_request(prompt))
                assert raw.http_response.status_code == 200
                answers.append((raw.headers[EXCHANGE_HEADER], raw.headers[ANSWERED_BY_HEADER], raw.parse().model))
    rows = {str(row["id"]): row for row in read_exchanges(store)}
    assert sorted(rows) == sorted(exchange for exchange, _, _ in answers)  # every answer stored, once
    for k, (exchange, by, model) in enumerate(answers):
        row = rows[exchange]
        assert (row["mode"], row["answered_by"], row["status"]) == ("slm", by, 200)
        assert model == (MODEL if by == "llm" else str(exported))
        if by == "llm":  # a fallback: its reason stored, and the LLM's answer with the small model's side
            assert row["fallback_reason"] is not None
            assert row["upstream_model"] == MODEL
        else:
            assert row["fallback_reason"] is None
            assert row["upstream_ms"] is None  # the LLM was not asked
        if k >= 4:  # the small model is gone: it could not be reached
            assert by == "llm"
            assert row["fallback_reason"].startswith("error: the small model could not be reached"), row
            assert row["slm_status"] is None
    assert any(by == "slm" for _, by, _ in answers[:4]), "the served model answered no request before it died"
    report = live_verdict(store)
    fallbacks = sum(by == "llm" for _, by, _ in answers)
    assert report.fallbacks.count == fallbacks
    assert report.fallbacks.requests == len(answers)
    assert report.fallbacks.reasons["error"] >= 4
    print(f"\n{len(answers)} answered, {fallbacks} fallbacks: {dict(report.fallbacks.reasons)}")
