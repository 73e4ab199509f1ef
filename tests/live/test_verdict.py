"""The cut-over verdict on planted paired traffic: cut over, stop and not yet where they are due, decided at the
request where the bound crossed the bar; at the bar, checking after every request rarely cuts over falsely,
unlike a fixed-n interval checked the same way; the figures are the offline metrics of the same answers."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from slmswap.data.openai import OpenAIAnswer
from slmswap.errors import ConfigError
from slmswap.live import (
    Agreement,
    Bar,
    PairedExchange,
    confidence_sequence,
    decide,
    live_verdict,
    parse_bar,
    scored_pair,
)
from slmswap.metrics import NO_CALL, Abstention, ArgumentsExactMatch, ToolNameMatch, ValidCall, score_examples
from slmswap.schema import ToolCall
from tests.live.pairs import call, planted
from tests.live.test_confidence import Z95


@pytest.mark.parametrize(("rate", "decision", "within"), [(0.97, "cut over", 300), (0.80, "stop", 200)])
def test_a_planted_rate_is_decided_where_the_bound_crosses_the_bar(rate: float, decision: str, within: int) -> None:
    rows = planted(rate, 600, seed=1)
    verdict = live_verdict(rows).verdict  # the default bar: arguments_exact_match>=0.90
    assert verdict.decision == decision
    assert verdict.decided_at is not None
    assert verdict.decided_at <= within
    assert decision in verdict.describe()
    # decided at that request: one request earlier it was not yet decided
    assert live_verdict(rows[: verdict.decided_at - 1]).verdict.decision == "not yet"
    assert live_verdict(rows[: verdict.decided_at]).verdict.decision == decision


def test_not_yet_comes_with_an_estimate_that_the_stream_then_bears_out() -> None:
    rows = planted(0.93, 2000, seed=6)
    early = live_verdict(rows[:300]).verdict
    assert early.decision == "not yet"
    assert early.more_requests is not None
    assert f"about {early.more_requests} more paired requests" in early.describe()
    final = live_verdict(rows).verdict
    assert final.decision == "cut over"
    assert final.decided_at is not None
    expected = 300 + early.more_requests
    assert expected / 4 < final.decided_at < expected * 4


def test_an_agreement_exactly_at_the_bar_is_never_decided() -> None:
    rows = [row if i % 10 else replace(row, slm=call("Atlantis")) for i, row in enumerate(planted(1.0, 1000))]
    verdict = live_verdict(rows).verdict
    assert verdict.value == pytest.approx(0.9)
    assert verdict.decision == "not yet"
    assert verdict.lower < 0.9 < verdict.upper
    assert verdict.more_requests is None
    assert "no estimate" in verdict.describe()


def test_at_the_bar_a_false_cut_over_is_rare_however_often_the_verdict_is_checked() -> None:
    """The issue's simulation: 1,000 streams whose true agreement is exactly the bar, the verdict checked after
    every request (it is a running intersection: "cut over" at some check is "cut over" at the end)."""
    bar, streams, length = Bar("arguments_exact_match", 0.9), 1000, 1000
    rng = np.random.default_rng(2026)
    values = (rng.random((streams, length)) < bar.threshold).astype(np.float64)
    positions = np.arange(1, length + 1)
    false_cut_overs = 0
    for stream in values:  # the bar on the grid decides it exactly, whatever the grid's resolution
        sequence = confidence_sequence(stream, resolution=10, include=[bar.threshold])
        verdict = decide(Agreement(bar.metric, sequence, positions), bar, requests=length)
        false_cut_overs += verdict.decision == "cut over"
    assert false_cut_overs / streams <= 0.05
    # the naive fixed-n 95 % interval (Wilson), checked after every request from the 30th on
    share = np.cumsum(values, axis=1) / positions
    centre = (share + Z95**2 / (2 * positions)) / (1 + Z95**2 / positions)
    half = Z95 * np.sqrt(share * (1 - share) / positions + Z95**2 / (4 * positions**2)) / (1 + Z95**2 / positions)
    naive = ((centre - half)[:, 29:] >= bar.threshold).any(axis=1).mean()
    assert naive > 0.05
    assert naive > 4 * false_cut_overs / streams


def _mixed() -> list[PairedExchange]:
    rows = planted(1.0, 7)
    prose = OpenAIAnswer("Which city do you mean?", (), "stop", 7, 40)
    bad_arguments = (ToolCall(name="get_weather", arguments={"city": 3}),)
    rows[1] = replace(rows[1], slm=None, slm_error="timeout", fallback="timeout", slm_seconds=None)
    rows[2] = replace(rows[2], slm=call("city 2", name="get_wether"), fallback="unknown_tool: no tool 'get_wether'")
    rows[3] = replace(rows[3], llm=prose, slm=prose)
    rows[4] = replace(rows[4], llm=prose)
    rows[5] = replace(rows[5], slm=OpenAIAnswer("", bad_arguments, None, None, None))  # breaks the schema
    rows[6] = replace(rows[6], llm=OpenAIAnswer("", (), "length", 512, 40))  # empty: nothing to agree with
    return rows


def test_every_figure_is_the_offline_metric_of_the_same_answers() -> None:
    rows = _mixed()
    report = live_verdict(rows)
    examples = [e for e in map(scored_pair, rows) if e is not None]
    offline = score_examples(examples, [ValidCall(), ToolNameMatch(), ArgumentsExactMatch(), Abstention()])
    assert report.agreement.scored == 6
    assert report.agreement.unscored == 1
    assert {name: (f.value, f.n) for name, f in report.agreement.overall.items()} == {
        name: (value.value, value.n) for name, value in offline.values.items()
    }
    overall = report.agreement.overall
    assert (overall["valid_call"].value, overall["valid_call"].n) == (1 / 4, 4)  # timeout, unknown tool, schema
    assert (overall["arguments_exact_match"].value, overall["tool_name_match"].value) == (1 / 4, 3 / 6)
    assert (overall["abstention"].value, overall["abstention"].n) == (1 / 2, 2)
    assert set(report.agreement.by_tool) == {"get_weather", NO_CALL}
    assert report.agreement.by_tool[NO_CALL]["abstention"].n == 2
    assert report.fallbacks.count == 2
    assert report.fallbacks.reasons == {"timeout": 1, "unknown_tool": 1}
    assert report.slm.answered == 6
    assert report.llm.p50_seconds == pytest.approx(0.8)
    assert report.slm.completion_tokens == 9 * 4 + 7  # the answer without usage counts no tokens
    text = report.to_markdown()
    for expected in ("| valid_call | 4 | 0.250 |", "| timeout | 1 |", "1 requests had an empty LLM answer", NO_CALL):
        assert expected in text


def test_since_keeps_the_later_requests_in_arrival_order() -> None:
    rows = planted(0.97, 100)
    report = live_verdict(list(reversed(rows)), since=rows[40].time.isoformat())
    assert report.requests == 60
    assert report.first == rows[40].time
    assert report.last == rows[-1].time
    assert report.verdict.n == 60
    assert math.isclose(report.agreement.overall["arguments_exact_match"].value, live_verdict(rows[40:]).verdict.value)
    naive = [replace(row, time=row.time.replace(tzinfo=None)) for row in rows]  # no zone: UTC
    assert live_verdict(naive, since=rows[40].time.replace(tzinfo=None)).requests == 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exact>=0.9", "unknown metric 'exact'"),
        ("arguments_exact_match>0.9", "not a bar"),
        ("arguments_exact_match>=1.5", "strictly between 0 and 1"),
        ("arguments_exact_match>=0", "strictly between 0 and 1"),
        ("arguments_exact_match>=9.9.9", "not a number"),
    ],
)
def test_a_bad_bar_says_what_is_expected(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_bar(text)


def test_a_bar_reads_as_a_share_or_a_percentage() -> None:
    assert parse_bar("valid_call>=0.95") == parse_bar(" valid_call >= 95% ") == Bar("valid_call", 0.95)
    assert str(parse_bar("abstention>=0.8")) == "abstention>=0.8"
