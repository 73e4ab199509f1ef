"""The bake-off's options as a YAML job: keys are the options, errors name the file and the field, and the
command line refuses bad input with exit code 2 before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

import slmswap
from slmswap.bakeoff import BakeoffOptions
from slmswap.cli import main
from slmswap.errors import ConfigError


def test_a_yaml_job_gives_the_options_with_paths_read_from_its_directory(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("data: demo:train\nformats: hermes, xml\nsteps: 3\nout: results\n", encoding="utf-8")
    options = BakeoffOptions.from_yaml(job, seed=7)
    assert options.formats == ["hermes", "xml"]
    assert (options.steps, options.seed) == (3, 7)  # an override (the command line's) replaces the file's key
    assert options.out == tmp_path / "results"
    assert options.base == tmp_path


def test_a_bad_yaml_field_names_the_file_and_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("data: demo:train\nsteps: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"job\.yaml: field 'steps'"):
        BakeoffOptions.from_yaml(job)
    assert main(["bakeoff", str(job)]) == 2
    assert "job.yaml: field 'steps'" in capsys.readouterr().err


def test_bad_input_is_exit_code_2_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "a": (["demo:train", "--formats", "xml,xml"], "named twice: xml"),
        "b": ([str(tmp_path / "none.jsonl")], "none.jsonl"),
        "c": (["demo:train", "--api-base", "http://127.0.0.1:9/v1"], "api_model"),
    }
    for name, (arguments, message) in cases.items():
        assert main(["bakeoff", *arguments, "--out", str(tmp_path / name)]) == 2, name
        assert message in capsys.readouterr().err
        assert not (tmp_path / name).exists()


def test_the_facade_runs_it_and_refuses_an_unknown_format_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown nope"):
        slmswap.run_bakeoff(slmswap.BakeoffOptions(data="demo:train", formats=["nope"], out=tmp_path / "out"))
    assert not (tmp_path / "out").exists()
