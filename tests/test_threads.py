"""The thread policy: the count follows the free cores (read from the machine with a real busy neighbour, or fed
a sequence of readings), a pinned count, ``OMP_NUM_THREADS`` and a user's ``torch.set_num_threads`` are kept,
phases nest, and the count in use reaches the progress line and the records."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from slmswap._threads import ThreadChange, ThreadPolicy, _torch_default, active_policy, cpu_phase, next_count
from slmswap.cli._common import progress_bar
from slmswap.data.demo import load_demo_dataset
from slmswap.evaluation.generation import TransformersBackend
from slmswap.evaluation.runner import evaluate, read_records
from slmswap.formats import get_format


@pytest.fixture
def adaptive(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing pins the count: no thread variables in the environment, torch at its own default."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(_torch_default())
    yield
    torch.set_num_threads(previous)


def test_the_count_steps_down_at_once_up_only_for_a_nearly_free_core_and_holds_between() -> None:
    assert next_count(None, 1.95, 2) == 2  # idle: every core
    assert next_count(None, 1.5, 2) == 1  # a neighbour busy half the time: its core is not counted
    assert next_count(2, 1.6, 2) == 1  # down as soon as 0.35 of a core is taken
    assert next_count(2, 1.7, 2) == 2
    assert next_count(1, 1.7, 2) == 1  # up only for a core 75 % free
    assert next_count(1, 1.8, 2) == 2
    assert next_count(2, 0.0, 2) == 1  # never below one
    assert next_count(1, 7.9, 4) == 4  # never above the ceiling
    assert next_count(4, 2.2, 8) == 2


def test_an_adaptive_policy_follows_the_readings_it_is_fed(adaptive: None) -> None:
    readings = iter([1.95, 1.9, 0.9, 1.0, 1.5, 1.9, 1.95])  # idle, a neighbour, it bursts, it leaves
    seen: list[tuple[int, int | None]] = []
    with ThreadPolicy(name="test", every=0.0, free=lambda _: next(readings)) as policy:
        assert policy.source == "adaptive"
        assert active_policy() is policy
        policy.listeners.append(lambda change, previous: seen.append((change.threads, previous)))
        counts = [policy.threads]
        for _ in range(6):
            policy.check()
            counts.append(policy.threads)
            assert torch.get_num_threads() == policy.threads
    assert active_policy() is None
    assert torch.get_num_threads() == _torch_default()
    top = policy.ceiling
    assert counts == [min(top, c) for c in (2, 2, 1, 1, 1, 2, 2)]
    record = policy.record()
    assert record["source"] == "adaptive"
    assert record["phase"] == "test"
    assert [c["threads"] for c in record["changes"]] == [min(top, 2)] + ([1, 2] if top >= 2 else [])
    assert record["changes"][0]["free"] == 1.95
    assert set(record["seconds_at"]) == {str(c) for c in set(counts)}
    assert seen == ([(1, 2), (2, 1)] if top >= 2 else [])


def _busy(seconds: float) -> None:
    """Work as a phase does: matrix products, checking between them."""
    a = torch.randn(256, 256)
    ends = time.perf_counter() + seconds
    policy = active_policy()
    while time.perf_counter() < ends:
        a @ a
        if policy is not None:
            policy.check()


def test_a_busy_neighbour_takes_its_core_from_the_count(adaptive: None) -> None:
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        with cpu_phase(name="test") as policy:
            _busy(2.0)
            from slmswap._threads import free_cores

            free = free_cores(0.5)
    finally:
        neighbour.kill()
        neighbour.wait()
    assert policy.source == "adaptive"
    assert free is not None
    assert free <= policy.ceiling - 0.5
    assert policy.threads <= max(1, policy.ceiling - 1)


def test_a_pinned_count_is_used_and_the_count_found_restored(adaptive: None) -> None:
    with cpu_phase(1, name="test") as policy:
        assert (policy.source, policy.threads, torch.get_num_threads()) == ("pinned", 1, 1)
        _busy(0.6)  # checks change nothing
        assert [c.threads for c in policy.changes] == [1]
    assert torch.get_num_threads() == _torch_default()


def test_omp_num_threads_is_kept(adaptive: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with cpu_phase(name="test") as policy:
        assert policy.source == "OMP_NUM_THREADS"
        assert policy.threads == torch.get_num_threads() == _torch_default()  # torch's count is left as it is


def test_a_count_the_user_set_with_torch_is_kept(adaptive: None) -> None:
    mine = _torch_default() + 1
    torch.set_num_threads(mine)
    with cpu_phase(name="test") as policy:
        assert (policy.source, policy.threads, torch.get_num_threads()) == ("torch.set_num_threads", mine, mine)
        _busy(0.6)
        assert torch.get_num_threads() == mine
    assert torch.get_num_threads() == mine


def test_a_phase_inside_a_phase_joins_it_unless_it_pins_another_count(adaptive: None) -> None:
    with cpu_phase(1, name="outer") as outer:
        with cpu_phase(name="inner") as inner:
            assert inner is outer
        with cpu_phase(1, name="same") as same:
            assert same is outer
        with cpu_phase(2, name="other") as other:
            assert other is not outer
            assert torch.get_num_threads() == 2
            assert active_policy() is other
        assert torch.get_num_threads() == 1
        assert active_policy() is outer


def test_the_progress_line_shows_the_count_and_each_change(adaptive: None, capsys: pytest.CaptureFixture[str]) -> None:
    readings = iter([1.95, 0.9])
    with ThreadPolicy(name="test", every=0.0, free=lambda _: next(readings)) as policy, progress_bar("x") as advance:
        advance(1, 2)
        policy.check()
        advance(2, 2)
    err = capsys.readouterr().err
    assert f"threads {policy.changes[0].threads}" in err
    if policy.ceiling >= 2:
        assert "threads 2 -> 1 (0.9 of" in err
        assert err.strip().splitlines()[-1].startswith("x: 2/2  threads 1")


def test_generations_and_records_carry_the_count(model: object, tokenizer: object, tmp_path: Path) -> None:
    conversations = load_demo_dataset("test")[:2]
    backend = TransformersBackend(model, tokenizer, max_new_tokens=2, threads=1)  # type: ignore[arg-type]
    fmt = get_format("hermes")
    evaluate(conversations, backend.generate, tokenizer, fmt, records=tmp_path / "r.jsonl")  # type: ignore[arg-type]
    assert [record.threads for record in read_records(tmp_path / "r.jsonl")] == [1, 1]
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert [json.loads(line)["threads"] for line in lines] == [1, 1]


def test_thread_changes_describe_themselves() -> None:
    assert ThreadChange(seconds=1.0, threads=1, free=0.9).describe(2).startswith("threads 2 -> 1 (0.9 of ")
    assert ThreadChange(seconds=0.0, threads=2, free=None).describe(None) == "threads 2"


def test_the_demo_records_its_thread_counts(quick_demo: Path) -> None:
    summary = json.loads((quick_demo / "demo.json").read_text())
    phases = {stage["threads"]["phase"]: stage["threads"] for stage in summary["stages"] if stage["threads"]}
    assert sorted(phases) == ["evaluation", "training"]
    for record in phases.values():
        assert record["source"] in ("adaptive", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "torch.set_num_threads")
        assert record["changes"]
        assert record["changes"][-1]["threads"] == record["threads"] >= 1
    records = (quick_demo / "runs" / "base" / "records.jsonl").read_text().splitlines()
    assert all(json.loads(line)["threads"] >= 1 for line in records)
    manifest = json.loads((quick_demo / "adapter" / "slmswap.json").read_text())
    assert manifest["metrics"]["threads"]["phase"] == "training"
    stderr = (quick_demo / "stderr.txt").read_text()
    assert "threads" in stderr
    assert "torch threads" in (quick_demo / "stdout.txt").read_text()  # each stage's line says what it used
