"""``slmswap live`` through the installed console script: the table and the verdict, and bad options refused
with exit 2 naming the option."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli import slmswap
from tests.live.pairs import planted, write_jsonl


def test_the_command_prints_the_table_and_the_verdict(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "pairs.jsonl", planted(0.97, 400, seed=1))
    result = slmswap("live", source, "--bar", "arguments_exact_match>=0.90", "--out", tmp_path / "live")
    assert result.returncode == 0, result.stderr
    assert "**cut over: arguments_exact_match" in result.stdout
    assert "| arguments_exact_match | 400 |" in result.stdout
    assert (tmp_path / "live" / "live.md").read_text() in result.stdout
    page = (tmp_path / "live" / "live.html").read_text()
    assert "<h2>Verdict: cut over</h2>" in page
    assert page.count('<polygon class="band') == page.count('<svg class="chart"') >= 3  # each figure's band
    stopped = slmswap("live", source, "--bar", "valid_call>=0.999", "--since", "2026-12-02T10:05:00Z")
    assert stopped.returncode == 0, stopped.stderr
    assert "100 paired requests" in stopped.stdout
    assert "**not yet: valid_call" in stopped.stdout


def test_a_bad_bar_or_time_exits_2_naming_the_option(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "pairs.jsonl", planted(0.97, 10))
    for option, value, message in (
        ("--bar", "arguments_exact_match>1", "not a bar"),
        ("--bar", "accuracy>=0.9", "unknown metric 'accuracy'"),
        ("--since", "last tuesday", "not an ISO 8601 time"),
    ):
        result = slmswap("live", source, option, value)
        assert result.returncode == 2, result.stderr
        assert f"argument {option}: " in result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    source.write_text(source.read_text() + '{"time": "2026-12-02T11:00:00Z"}\n')
    result = slmswap("live", source)
    assert result.returncode == 2
    assert f"{source}:11: field 'llm'" in result.stderr
