"""curate on planted traffic: it reports exactly the planted counts and drops exactly the planted ids; the splits
load with every loader; the report says what the labels are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.curation import Curation, curate, read_curation
from slmswap.data import load_conversations
from tests.cli.cli import slmswap
from tests.curation.planted import Planted, planted_traffic

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@pytest.fixture(scope="module")
def planted() -> Planted:
    return planted_traffic()


@pytest.fixture(scope="module")
def curated(planted: Planted, tmp_path_factory: pytest.TempPathFactory, tokenizer: PreTrainedTokenizerBase) -> Curation:
    directory = tmp_path_factory.mktemp("curated")
    return curate(planted.write(directory / "planted.jsonl"), directory / "out", tokenizer=tokenizer)


def test_each_reason_drops_exactly_the_planted_ids(planted: Planted, curated: Curation) -> None:
    found: dict[str, set[str]] = {}
    for row in curated.report.dropped:
        found.setdefault(row.reason, set()).add(row.id)
    assert found == planted.dropped


def test_the_counts_are_the_planted_counts(planted: Planted, curated: Curation) -> None:
    counts = curated.report.counts
    assert counts.read == len(planted.rows)
    assert counts.dropped == {reason: len(ids) for reason, ids in planted.dropped.items()}
    assert counts.exact_duplicates == len(planted.exact_duplicates)
    assert counts.near_duplicates == planted.near_duplicates
    assert counts.near_duplicate_groups == planted.near_duplicate_groups
    assert counts.train + counts.test == counts.kept == counts.unique == counts.valid - counts.exact_duplicates


def test_exact_duplicates_collapse_into_the_first_with_the_majority_answer(planted: Planted, curated: Curation) -> None:
    assert {row.id for row in curated.report.duplicates} == planted.exact_duplicates
    assert all(row.into < row.id for row in curated.report.duplicates)  # the first seen is kept (ids are in order)


def test_self_agreement_counts_the_disagreeing_repeats(planted: Planted, curated: Curation) -> None:
    agreement = curated.report.self_agreement
    assert (agreement.requests, agreement.unanimous) == (planted.repeated_requests, planted.unanimous)
    # 6 requests x 2 agreeing ordered pairs, 2 requests answered A, A, B: 2 of 6 ordered pairs agree
    assert agreement.metrics["exact_match"] == pytest.approx((6 * 2 + 2 * 2) / (6 * 2 + 2 * 6))


def test_no_group_straddles_while_a_random_split_leaks(curated: Curation) -> None:
    leakage = curated.report.leakage
    assert leakage.straddling_groups == 0
    assert leakage.random_split_leaked_test_examples > 0


def test_the_splits_load_as_openai_rows(curated: Curation) -> None:
    train, test = load_conversations(curated.train), load_conversations(curated.test)
    assert (len(train), len(test)) == (curated.report.counts.train, curated.report.counts.test)
    assert not {c.id for c in train} & {c.id for c in test}
    assert all(c.messages[-1].role == "assistant" for c in [*train, *test])


def test_curation_json_reads_back_and_names_the_labels_as_the_llms_own(curated: Curation) -> None:
    report = read_curation(curated.curation.parent)
    assert report == curated.report
    assert report.labels == "recorded"
    assert "ceiling" in report.labels_note


def test_every_tool_is_on_both_sides(curated: Curation) -> None:
    assert curated.report.rare_tools == []
    assert all(row.train > 0 and row.test > 0 for row in curated.report.tools.values())


def test_the_same_inputs_give_the_same_files(
    planted: Planted, curated: Curation, tmp_path: Path, tokenizer: PreTrainedTokenizerBase
) -> None:
    again = curate(planted.write(tmp_path / "planted.jsonl"), tmp_path / "out", tokenizer=tokenizer)
    assert again.train.read_text() == curated.train.read_text()
    assert again.test.read_text() == curated.test.read_text()
    assert again.curation.read_text() == curated.curation.read_text().replace(
        str(curated.curation.parent.parent), str(tmp_path)
    )


def test_max_per_tool_caps_each_stratum_dropping_near_duplicates_first(
    planted: Planted, tmp_path: Path, tokenizer: PreTrainedTokenizerBase
) -> None:
    capped = curate(planted.write(tmp_path / "planted.jsonl"), tmp_path / "out", max_per_tool=5, tokenizer=tokenizer)
    report = capped.report
    assert all(row.examples <= 5 for row in report.tools.values())
    over = {row.id for row in report.dropped if row.reason == "over_max_per_tool"}
    assert len(over) == report.counts.unique - report.counts.kept
    for group in report.near_duplicate_groups:
        kept = [example_id not in over for example_id in group]
        assert kept == sorted(kept, reverse=True)  # a group loses its later members first


def test_the_cli_curates_and_refuses_bad_input_with_exit_2(planted: Planted, tmp_path: Path) -> None:
    data = planted.write(tmp_path / "planted.jsonl")
    done = slmswap("curate", data, "--out", tmp_path / "out", "--no-control-token-check")
    assert done.returncode == 0, done.stderr
    assert "## Curation" in done.stdout
    assert "exact duplicates collapsed" in done.stdout
    missing = slmswap("curate", tmp_path / "nowhere.jsonl", "--out", tmp_path / "x")
    assert missing.returncode == 2
    assert "nowhere.jsonl" in missing.stderr
    bad = slmswap("curate", data, "--out", tmp_path / "x", "--test-fraction", "1.5")
    assert bad.returncode == 2
    assert "between 0 and 1" in bad.stderr
