"""The commands end to end on the real default model: ``slmswap demo`` (small), then ``eval`` of its adapter
with another format (refused, then overridden and caught by the doctor), ``compare``, ``report`` and ``train``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmswap.trained.history import read_history
from tests.cli.cli import slmswap

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(quick_demo: Path) -> Path:
    """The session's quick demo (shared with the browser test of its report)."""
    return quick_demo


def test_demo_writes_every_artefact_and_says_where_it_is(demo: Path) -> None:
    stdout = (demo / "stdout.txt").read_text(encoding="utf-8")
    for stage in range(1, 7):
        assert f"[{stage}/6 ·" in stdout
    for path in (
        "train.yaml",
        "adapter/slmswap.json",
        "adapter/adapter_model.safetensors",
        "adapter/history.jsonl",
        "report/report.html",
    ):
        assert (demo / path).is_file(), path
    assert "epochs" not in (demo / "train.yaml").read_text(encoding="utf-8")  # max_steps decides
    for run in ("base", "tuned"):
        results = json.loads((demo / "runs" / run / "results.json").read_text(encoding="utf-8"))
        assert results["examples"] == 8
        assert results["format"] == "hermes"
    report = (demo / "report" / "report.md").read_text(encoding="utf-8")
    assert "## tuned vs base (paired)" in report
    assert "checked prompt by prompt" in report
    assert "## Training" in report  # the curves' numbers, from adapter/history.jsonl
    manifest = json.loads((demo / "adapter" / "slmswap.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "hermes"
    assert manifest["config"]["max_steps"] == 8
    scored = [entry["step"] for entry in manifest["metrics"]["history"]]
    assert scored  # the curve points scored while training
    assert max(scored) < 8  # the final model is scored once, by the tuned evaluation afterwards
    curve = read_history(demo / "adapter").series("eval_arguments_exact_match")
    value = {
        run: json.loads((demo / "runs" / run / "results.json").read_text(encoding="utf-8"))["metrics"]["values"][
            "arguments_exact_match"
        ]["value"]
        for run in ("base", "tuned")
    }
    assert [step for step, _ in curve] == [0, 4, 8]  # --quick: 3 curve points, one scored while training
    assert (curve[0][1], curve[-1][1]) == (value["base"], value["tuned"])  # the ends: the two evaluations
    names = [path.name for path in (demo / "adapter").iterdir()]
    leftovers = [name for name in names if name.startswith("checkpoint") or name == "README.md"]
    assert leftovers == []  # no optimizer checkpoint, no boilerplate model card
    summary = json.loads((demo / "demo.json").read_text(encoding="utf-8"))
    assert len(summary["stages"]) == 6
    assert all(stage["seconds"] > 0 and stage["peak_rss_bytes"] > 0 for stage in summary["stages"])
    # --quick shows the fine-tune working: valid calls where the base model (constrained too) makes none
    assert summary["metrics"]["tuned"]["valid_call"] > summary["metrics"]["base"]["valid_call"]
    for run in ("base", "tuned"):
        assert json.loads((demo / "runs" / run / "results.json").read_text(encoding="utf-8"))["constrained"]
    assert stdout.count("peak memory") == 6
    stderr = (demo / "stderr.txt").read_text(encoding="utf-8")
    for noise in ("Warning", "[RANK", "{'loss'", "Loading weights"):  # the libraries stay quiet without --verbose
        assert noise not in stderr, stderr


def test_the_doctor_passes_on_the_demo_outcome(demo: Path) -> None:
    result = slmswap("doctor", "--output", demo / "adapter", "--run", demo / "runs" / "tuned")
    assert "[PASS] trained_format:" in result.stdout
    assert "[PASS] baseline_parity: baseline 'base' was given the very same prompts as 'tuned'" in result.stdout
    assert "found next to the runs" in result.stdout  # runs/base, next to runs/tuned, is the baseline
    assert "tuned #demo-test-000 (" in result.stdout  # sample outputs shown for a human to read
    assert "tuned #demo-test-000 (ok)" not in result.stdout  # parsed, correct or wrong: never a bare "ok"


def test_another_format_is_refused_then_caught_by_the_doctor(demo: Path, tmp_path: Path) -> None:
    adapter = demo / "adapter"
    refused = slmswap("eval", "demo:test", "--model", adapter, "--format", "xml", "--out", tmp_path / "xml")
    assert refused.returncode == 2
    assert "trained with another setup: format 'xml'" in refused.stderr
    assert not (tmp_path / "xml").exists()

    forced = slmswap(
        "eval", "demo:test", "--model", adapter, "--format", "xml", "--override", "--limit", "3",
        "--max-new-tokens", "16", "--out", tmp_path / "xml",
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    doctor = slmswap("doctor", "--output", adapter, "--run", tmp_path / "xml", "--baseline", demo / "runs" / "base")
    assert doctor.returncode == 1
    assert "[FAIL] trained_format: run 'xml' was evaluated with format 'xml'" in doctor.stdout
    assert "[FAIL] baseline_parity: 3 of 3 prompts differ" in doctor.stdout


def test_compare_and_report_from_run_directories(demo: Path, tmp_path: Path) -> None:
    runs = demo / "runs"
    compared = slmswap("compare", f"base={runs / 'base'}", f"tuned={runs / 'tuned'}")
    assert compared.returncode == 0
    assert "| tool_name_match |" in compared.stdout
    report = slmswap(
        "report", runs / "base", runs / "tuned", "--out", tmp_path / "report", "--title", "T",
        "--training", demo / "adapter",
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "report.md").read_text(encoding="utf-8").startswith("# T\n")
    assert "Training loss" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    same = slmswap("compare", runs / "base", runs / "base", "--require-better")
    assert same.returncode == 1
    assert "does not beat" in same.stdout
    assert "significantly" in same.stdout


def test_train_runs_a_yaml_job(tmp_path: Path, tokenizer: object) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("train: demo:train\nconfig:\n  max_steps: 2\n  batch_size: 2\n  output_dir: out\n", encoding="utf-8")
    result = slmswap("train", job)
    assert result.returncode == 0, result.stderr
    assert "doctor: ok" in result.stdout
    manifest = json.loads((tmp_path / "out" / "slmswap.json").read_text(encoding="utf-8"))  # relative to the YAML
    assert (manifest["format"], manifest["config"]["max_steps"]) == ("hermes", 2)
    assert manifest["data"]["train"]["kept"] == 320


def test_train_refuses_a_setup_the_doctor_fails(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("train: demo:train\nconfig:\n  max_length: 400\n  output_dir: out\n", encoding="utf-8")
    result = slmswap("train", job)
    assert result.returncode == 1
    assert "[FAIL] truncation:" in result.stdout
    assert not (tmp_path / "out").exists()
