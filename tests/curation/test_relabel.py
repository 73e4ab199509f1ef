"""Relabelling: ``slmswap relabel`` asks a teacher (a stand-in HTTP server) the logged requests into a run
directory; ``slmswap curate RUN`` takes the teacher's answers as labels, keeps the originals beside them and lists
the disagreements; ``slmswap report --curation`` shows the section; a second relabel asks nothing again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slmswap.curation import read_curation
from slmswap.data import load_conversations
from slmswap.data.openai import parse_openai_answer
from slmswap.metrics import canonical_turn
from slmswap.schema import Message
from tests.cli.cli import slmswap
from tests.curation.planted import Planted, planted_traffic
from tests.curation.teacher import teacher, teacher_answer


def _turn(message: dict[str, Any]) -> str:
    parsed = parse_openai_answer({"choices": [{"message": message}]})
    return canonical_turn(Message.assistant(content=parsed.content or None, tool_calls=parsed.tool_calls))


@pytest.fixture(scope="module")
def relabelled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Planted, list[dict[str, Any]]]]:
    directory = tmp_path_factory.mktemp("relabel")
    planted = planted_traffic(seed=3)
    data = planted.write(directory / "planted.jsonl")
    with teacher() as (url, received):
        args = [data, "--api-base", url, "--api-model", "teacher", "--out", directory / "run", "--concurrency", "4"]
        done = slmswap("relabel", *args)
        assert done.returncode == 0, done.stderr
        asked = len(received)
        again = slmswap("relabel", *args)
        assert again.returncode == 0, again.stderr
        assert len(received) == asked  # resumed: every answer was already recorded
        curated = slmswap("curate", directory / "run", "--out", directory / "out")
        assert curated.returncode == 0, curated.stderr
        yield directory, planted, received


def test_the_teacher_was_asked_the_requests_as_the_application_sent_them(
    relabelled: tuple[Path, Planted, list[dict[str, Any]]],
) -> None:
    _, planted, received = relabelled
    rows = [json.loads(row) for row in planted.rows[:-1]]  # the last row is the unreadable one
    skipped = planted.dropped["control_token_text"]  # an evaluation never sends control-token text
    sent = {json.dumps(body["messages"]) for body in received}
    for row in rows:
        if row["id"] in skipped:
            continue
        request = [m for m in row["messages"] if m["role"] != "assistant"]
        assert json.dumps(request) in sent, row["id"]
    assert all(body["tools"] == rows[0]["tools"] or len(body["tools"]) == 3 for body in received)


def test_curate_takes_the_teachers_answers_as_labels(relabelled: tuple[Path, Planted, list[dict[str, Any]]]) -> None:
    directory, _, _ = relabelled
    for conversation in [
        *load_conversations(directory / "out" / "train.jsonl"),
        *load_conversations(directory / "out" / "test.jsonl"),
    ]:
        user = conversation.messages[-2].content or ""
        assert canonical_turn(conversation.messages[-1]) == _turn(teacher_answer(user)), conversation.id


def test_the_disagreements_are_the_answers_the_teacher_changed(
    relabelled: tuple[Path, Planted, list[dict[str, Any]]],
) -> None:
    directory, planted, _ = relabelled
    report = read_curation(directory / "out")
    assert report.labels == "teacher"
    assert report.relabelling is not None
    originals = {}
    for line in planted.rows[:-1]:
        row = json.loads(line)
        answer = next((m for m in row["messages"] if m["role"] == "assistant"), None)
        user = row["messages"][1]["content"]
        if row["id"] not in planted.dropped["control_token_text"]:
            changed = answer is None or (not (answer.get("content") or "").strip() and not answer.get("tool_calls"))
            originals[row["id"]] = changed or _turn(answer) != _turn(teacher_answer(user))
    assert {d.id for d in report.relabelling.disagreements} == {i for i, changed in originals.items() if changed}
    assert report.relabelling.compared == len(originals)
    # the originals the curation dropped as invalid get the teacher's label: nothing left but the control tokens
    assert {row.id for row in report.dropped} == planted.dropped["control_token_text"] | planted.dropped["unreadable"]
    assert {row.reason for row in report.dropped} == {"not_relabelled", "unreadable"}


def test_the_report_shows_the_curation_section(relabelled: tuple[Path, Planted, list[dict[str, Any]]]) -> None:
    directory, _, _ = relabelled
    done = slmswap("report", directory / "run", "--curation", directory / "out", "--out", directory / "report")
    assert done.returncode == 0, done.stderr
    markdown = (directory / "report" / "report.md").read_text()
    page = (directory / "report" / "report.html").read_text()
    assert "## Curation" in markdown
    assert "the teacher is the ceiling" in markdown
    assert "<h2>Curation</h2>" in page
    assert "run with the labels" in page
