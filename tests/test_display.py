"""Progress in a log file: plain lines with the count, the fields and an ETA, never a redrawn bar."""

from __future__ import annotations

import pytest

from slmswap._display import StepProgress, format_duration


def test_plain_lines_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with StepProgress("training", 4, fields=("loss", "lr"), live=False, every=0) as display:
        display.update(1, values={"loss": "0.9000", "lr": "1.00e-03"})
        display.note("  step 1: held-out arguments_exact_match 0.50")
        display.update(4, values={"loss": 0.5})
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("training: 1/4  loss 0.9000  lr 1.00e-03")
    assert "eta" in lines[0]
    assert lines[1] == "  step 1: held-out arguments_exact_match 0.50"
    assert lines[2].startswith("training: 4/4  loss 0.5  lr 1.00e-03")
    assert "eta" not in lines[2]
    assert "\r" not in "".join(lines)


def test_plain_lines_are_spaced_out(capsys: pytest.CaptureFixture[str]) -> None:
    with StepProgress("evaluating base", 40, live=False, every=3600) as display:
        for done in range(1, 41):
            display.update(done)
    assert len(capsys.readouterr().err.splitlines()) == 2  # the first and the last


def test_durations_read_as_minutes() -> None:
    assert [format_duration(s) for s in (42, 185, 3720)] == ["42s", "3m05s", "1h02m"]
