"""The command line's contract: help, exit codes (0 ok, 1 check failed, 2 usage or input error), messages on
stderr that name the file and the field."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.cli.cli import slmswap

COMMANDS = ("formats", "inspect", "doctor", "train", "eval", "compare", "report", "demo")


def test_help_lists_every_command() -> None:
    result = slmswap("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in result.stdout, command
    for command in COMMANDS:
        sub = slmswap(command, "--help")
        assert sub.returncode == 0, (command, sub.stderr)
        assert sub.stdout.startswith(f"usage: slmswap {command}")


def test_version() -> None:
    from slmswap import __version__

    result = slmswap("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"slmswap {__version__}")


def test_formats_lists_the_built_ins_with_their_source() -> None:
    result = slmswap("formats")
    assert result.returncode == 0
    rows = dict(line.split(None, 1) for line in result.stdout.splitlines())
    for name in ("native", "hermes", "structured", "cep", "xml"):
        assert rows[name] == "slmswap (built-in)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nonsense",), "invalid choice: 'nonsense'"),
        (("eval", "demo:test"), "the following arguments are required: --out"),
        (("demo", "--steps", "many"), "argument --steps: expected a whole number, got 'many'"),
        (
            ("eval", "demo:test", "--out", "x", "--limit", "0"),
            "argument --limit: expected a number of at least 1, got 0",
        ),
        (("report",), "the following arguments are required: RUN, --out"),
        (
            ("doctor", "slmswap-demo/train.yaml"),
            "unrecognized arguments: slmswap-demo/train.yaml (did you mean: slmswap doctor --config "
            "slmswap-demo/train.yaml?)",
        ),
        (("doctor", "--data", "demo:train", "extra"), "unrecognized arguments: extra\n"),
    ],
)
def test_bad_arguments_exit_2_with_usage_on_stderr(args: tuple[str, ...], message: str) -> None:
    result = slmswap(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_value_the_typed_options_refuse_exits_2_naming_the_field() -> None:
    result = slmswap("demo", "--learning-rate", "0")
    assert result.returncode == 2
    assert result.stderr == "slmswap: error: field 'learning_rate': Input should be greater than 0\n"


def test_missing_files_exit_2_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    for args in (
        ("doctor", "--data", str(missing)),
        ("inspect", str(missing)),
        ("train", str(tmp_path / "nowhere.yaml")),
        ("report", str(tmp_path / "no-run"), "--out", str(tmp_path / "report")),
    ):
        result = slmswap(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("slmswap: error: "), args
        assert "nowhere" in result.stderr or "no-run" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_bad_job_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("train: demo:train\nconfig:\n  max_steps: 2\n  learning_rat: 0.001\n", encoding="utf-8")
    result = slmswap("train", job)
    assert result.returncode == 2
    assert f"{job}: field 'config.learning_rat'" in result.stderr


def test_a_bad_data_row_names_the_file_line_and_field(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    bad = {"messages": [{"role": "user", "content": "hi"}, {"role": "wizard", "content": "hello"}]}
    data.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = slmswap("inspect", data)
    assert result.returncode == 2
    assert f"{data}:2" in result.stderr
    assert "messages[1].role" in result.stderr


def test_inspect_out_of_range_index(tokenizer: object) -> None:
    result = slmswap("inspect", "demo:test", "--index", "60")
    assert result.returncode == 2
    assert "--index 60 is out of range (0..59)" in result.stderr


ROOT = Path(__file__).resolve().parents[2]


def _commands(page: Path) -> list[str]:
    """The ``slmswap ...`` lines of a page's bash blocks, without their comments."""
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("slmswap ")]


@pytest.mark.parametrize("page", ["README.md", "docs/guide/quickstart.md", "docs/reference/cli.md"])
def test_documented_commands_run_as_written(page: str) -> None:
    from slmswap.cli import build_parser

    text = (ROOT / page).read_text(encoding="utf-8")
    commands = _commands(ROOT / page)
    assert len(commands) >= 5
    first = text.index(commands[0])
    assert "source .venv/bin/activate" in text[:first], "say how to reach the slmswap command before using it"
    for command in commands:
        try:
            build_parser().parse_args(shlex.split(command)[1:])
        except SystemExit as exc:
            pytest.fail(f"{page}: `{command}` is refused by the command line (exit {exc.code})")
