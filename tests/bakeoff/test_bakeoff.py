"""``slmswap bakeoff`` end to end on the real default model and the demo data, at tiny sizes, with a stand-in LLM
(a real HTTP server, :mod:`tests.curation.teacher`) as the baseline: the report and ``bakeoff.json`` of a
finished run, then a rerun into the same directory that adds a format killed (SIGKILL)
while training and one that fails for real (``native``: SmolLM2's chat template drops tools), and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slmswap.bakeoff import BakeoffResult
from tests.cli.cli import SLMSWAP, slmswap
from tests.curation.teacher import teacher

SIZES = ("--quick", "--steps", "2", "--train-examples", "8", "--test-examples", "6", "--max-new-tokens", "24")


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The stand-in LLM on loopback (it answers the demo prompts with a refusal): its base URL, and the requests
    it received."""
    with teacher() as served:
        yield served


@pytest.fixture(scope="module")
def common(llm: tuple[str, list[dict[str, Any]]]) -> tuple[str, ...]:
    """The recipe every invocation into one directory shares, the LLM baseline included."""
    return ("demo:train", *SIZES, "--threads", "1", "--api-base", llm[0], "--api-model", "teacher")


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory, common: tuple[str, ...]
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A bake-off of hermes and xml, run to the end."""
    out = tmp_path_factory.mktemp("bakeoff")
    result = slmswap("bakeoff", *common, "--formats", "hermes,xml", "--out", out)
    return out, result


def _result(out: Path) -> BakeoffResult:
    return BakeoffResult.model_validate_json((out / "bakeoff.json").read_text(encoding="utf-8"))


def test_quick_bakeoff_writes_the_ranking_pairs_and_per_tool_report(
    finished: tuple[Path, subprocess.CompletedProcess[str]], llm: tuple[str, list[dict[str, Any]]]
) -> None:
    out, process = finished
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    result = _result(out)
    assert result.ok
    assert result.metric == "arguments_exact_match"
    assert sorted(result.ranking) == ["hermes", "xml"]
    assert result.seconds > 0
    assert len(result.pairs) == 1
    pair = result.pairs[0]
    assert {pair.a, pair.b} == {"hermes", "xml"}
    assert pair.comparison.n == 6  # paired by example id over the six held-out conversations
    assert pair.holm_p == pytest.approx(pair.comparison.p_value)  # one pair: Holm leaves its p as it is
    for name in ("hermes", "xml"):
        outcome = result.outcome(name)
        assert outcome.tuned_vs_base is not None
        assert outcome.tuned_vs_base.n == 6
        assert outcome.prompt_mismatches == 0
        assert outcome.by_tool
        assert outcome.tuned_vs_llm is not None
        assert outcome.tuned_vs_llm.n == 6
        for run in ("base", "tuned", "llm"):
            assert (out / name / run / "results.json").is_file()
        assert (out / name / "train" / "slmswap.json").is_file()
        assert (out / name / "report" / "report.html").is_file()
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "Prompts differ across formats by design" in markdown
    assert "identical" in markdown
    for heading in ("## Ranking by arguments_exact_match", "## Every pair of formats", "Holm p", "per tool"):
        assert heading in markdown
    assert f"| {pair.b} − {pair.a} |" in markdown
    assert "| hermes | tuned − LLM |" in markdown
    # The LLM was asked each format's prompt: six per format, and the two formats' prompts differ
    prompts = {json.dumps(body["messages"]) for body in llm[1]}
    assert len(llm[1]) == 12
    assert len(prompts) == 12
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "Holm p" in page
    assert "hermes/report/report.html" in page


def _mtimes(out: Path, names: tuple[str, ...]) -> dict[str, int]:
    files = [out / name / run / "results.json" for name in names for run in ("base", "tuned", "llm")]
    files += [out / name / "train" / "slmswap.json" for name in names]
    return {str(path.relative_to(out)): path.stat().st_mtime_ns for path in files}


def test_a_killed_and_a_failing_format_are_contained_and_the_rerun_redoes_nothing_finished(
    finished: tuple[Path, subprocess.CompletedProcess[str]], common: tuple[str, ...]
) -> None:
    out, process = finished
    assert process.returncode == 0, process.stderr
    before = _mtimes(out, ("hermes", "xml"))
    # Killed while cep trains: its base run is finished by then, its training output is not
    killed = subprocess.Popen(
        [str(SLMSWAP), "bakeoff", *common, "--formats", "hermes,xml,cep", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert killed.stdout is not None
    in_cep = False
    for line in killed.stdout:
        in_cep = in_cep or line.rstrip().endswith("format cep")
        if in_cep and line.strip().startswith("training:"):
            os.kill(killed.pid, signal.SIGKILL)
            break
    assert killed.wait(timeout=300) == -signal.SIGKILL
    assert (out / "cep" / "base" / "results.json").is_file()
    assert not (out / "cep" / "train" / "slmswap.json").exists()
    cep_base = (out / "cep" / "base" / "results.json").stat().st_mtime_ns

    rerun = slmswap("bakeoff", *common, "--formats", "hermes,xml,native,cep", "--out", out)
    assert rerun.returncode == 1, rerun.stderr  # native failed; the others finished
    assert "Traceback" not in rerun.stderr
    assert "failed: native" in rerun.stdout
    assert _mtimes(out, ("hermes", "xml")) == before  # nothing finished was done again
    assert (out / "cep" / "base" / "results.json").stat().st_mtime_ns == cep_base
    assert (out / "cep" / "train" / "slmswap.json").is_file()
    result = _result(out)
    assert not result.ok
    native = result.outcome("native")
    assert native.error is not None
    assert native.error.startswith("FormatError:")
    assert "Traceback" in (out / "native" / "error.txt").read_text(encoding="utf-8")
    assert sorted(result.ranking) == ["cep", "hermes", "xml"]
    assert len(result.pairs) == 3
    assert all(pair.holm_p is not None and pair.holm_p >= (pair.comparison.p_value or 0) for pair in result.pairs)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "## Formats that failed" in markdown
    assert "| native | FormatError:" in markdown
    assert json.loads((out / "recipe.json").read_text(encoding="utf-8"))["steps"] == 2


def test_a_rerun_with_another_recipe_or_an_unknown_format_is_refused_as_bad_input(
    finished: tuple[Path, subprocess.CompletedProcess[str]], common: tuple[str, ...]
) -> None:
    out, _ = finished
    other = slmswap("bakeoff", *common, "--formats", "hermes", "--seed", "7", "--out", out)
    assert other.returncode == 2
    assert "seed" in other.stderr
    assert "Traceback" not in other.stderr
    unknown = slmswap("bakeoff", *common, "--formats", "hermes,nope", "--out", out / "elsewhere")
    assert unknown.returncode == 2
    assert "unknown nope" in unknown.stderr
    assert not (out / "elsewhere").exists()
