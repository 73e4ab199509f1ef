"""No leakage, checked without MinHash: an exact Jaccard over the same shingles, every train/test pair of the
curated splits, finds none at or above the threshold, while a random split of the same examples finds some."""

from __future__ import annotations

import random
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.curation import Curation, curate
from slmswap.curation.near_duplicates import shingles
from slmswap.data import load_conversations
from slmswap.schema import Conversation
from tests.curation.planted import planted_traffic

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

THRESHOLD = 0.6


def _exact_jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _request(conversation: Conversation) -> Conversation:
    return Conversation(messages=conversation.messages[:-1], tools=conversation.tools)


def _leaked_pairs(train: list[Conversation], test: list[Conversation], threshold: float = THRESHOLD) -> int:
    train_sets = [shingles(_request(c)) for c in train]
    test_sets = [shingles(_request(c)) for c in test]
    return sum(_exact_jaccard(a, b) >= threshold for a, b in product(train_sets, test_sets))


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory, tokenizer: PreTrainedTokenizerBase) -> Curation:
    directory = tmp_path_factory.mktemp("leakage")
    planted = planted_traffic(seed=11).write(directory / "planted.jsonl")
    return curate([planted, "demo:train"], directory / "out", near_duplicates=THRESHOLD, tokenizer=tokenizer)


def test_no_train_test_pair_reaches_the_threshold(curated: Curation) -> None:
    assert _leaked_pairs(list(load_conversations(curated.train)), list(load_conversations(curated.test))) == 0


def test_a_random_split_of_the_same_examples_leaks(curated: Curation) -> None:
    examples = [*load_conversations(curated.train), *load_conversations(curated.test)]
    random.Random(0).shuffle(examples)
    n_test = len(load_conversations(curated.test))
    leaked = _leaked_pairs(examples[n_test:], examples[:n_test])
    print(f"random split of the {len(examples)} curated examples: {leaked} train/test pairs at Jaccard >= {THRESHOLD}")
    assert leaked > 0


def test_a_lower_threshold_groups_more(tmp_path: Path) -> None:
    planted = planted_traffic(seed=11).write(tmp_path / "planted.jsonl")
    loose = curate([planted, "demo:train"], tmp_path / "loose", near_duplicates=0.3, tokenizer=None)
    strict = curate([planted, "demo:train"], tmp_path / "strict", near_duplicates=0.9, tokenizer=None)
    assert loose.report.counts.near_duplicates > strict.report.counts.near_duplicates
    assert _leaked_pairs(list(load_conversations(loose.train)), list(load_conversations(loose.test)), 0.3) == 0
