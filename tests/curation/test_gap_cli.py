"""The gap closed from the command line: a weak base (the stand-in teacher asked as "refuser"), a tuned run and the
LLM run (both the teacher's answers) evaluated with ``slmswap eval --api-base`` on gold-labelled calls;
``slmswap compare BASE TUNED --llm LLM`` and ``slmswap report --llm`` give the gap closed (all of it) and say
the tuned run stays within the margin."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.cli import slmswap
from tests.curation.planted import NAMES, TOOLS
from tests.curation.teacher import teacher, teacher_answer


def test_compare_and_report_give_the_gap_closed(tmp_path: Path) -> None:
    data = tmp_path / "gold.jsonl"
    rows = []
    for k, name in enumerate(NAMES):
        user = f"question {k}: please ask {name} about 2025-0{1 + k % 9}-1{k % 10} and nothing else"
        messages = [{"role": "user", "content": user}, teacher_answer(user)]
        rows.append(json.dumps({"id": f"g{k}", "messages": messages, "tools": TOOLS}))
    data.write_text("\n".join(rows) + "\n")
    with teacher() as (url, _):
        for name, model in (("base", "refuser"), ("tuned", "teacher"), ("llm", "teacher")):
            done = slmswap("eval", data, "--api-base", url, "--api-model", model, "--out", tmp_path / name)
            assert done.returncode == 0, done.stderr
    compared = slmswap("compare", tmp_path / "base", tmp_path / "tuned", "--llm", tmp_path / "llm")
    assert compared.returncode == 0, compared.stderr
    assert (
        "gap closed on arguments_exact_match: 1.00 [1.00, 1.00] of the way from base (0.000) to llm" in compared.stdout
    )
    assert "tuned stays within 0.02 of llm" in compared.stdout
    runs = [tmp_path / "base", tmp_path / "tuned", tmp_path / "llm"]
    report = slmswap("report", *runs, "--llm", "llm", "--out", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    assert "## Gap closed" in (tmp_path / "report" / "report.md").read_text()
    assert "<h2>Gap closed</h2>" in (tmp_path / "report" / "report.html").read_text()
    unknown = slmswap("report", *runs, "--llm", "gpt", "--out", tmp_path / "report")
    assert unknown.returncode == 2
    assert "--llm gpt: no such RUN" in unknown.stderr
