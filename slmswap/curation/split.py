"""The split: stratified by the set of tools each answer calls ("no call" a stratum of its own), whole
near-duplicate groups on one side, every tool with enough examples on both sides.

Each near-duplicate group takes the stratum most of its examples have. Within a stratum, the groups are
shuffled (seeded) and each joins the test side while that brings the side closer to the test fraction. A tool
with fewer than ``min_examples`` examples, or with all of them in one group, is rare: its groups stay in
training (one side only is all it can have) and it is listed. Then every other tool missing from a side gets its
smallest group moved there.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from slmswap.errors import ConfigError
from slmswap.metrics import NO_CALL

__all__ = ["MIN_EXAMPLES_PER_TOOL", "Leakage", "Split", "random_split_leakage", "split_groups", "stratum_label"]

MIN_EXAMPLES_PER_TOOL = 3
"""Tools with fewer examples than this are rare (kept in training and listed)."""


def stratum_label(tools: frozenset[str]) -> str:
    """How a stratum is named: its tools joined by ``+``, or :data:`~slmswap.metrics.NO_CALL`."""
    return "+".join(sorted(tools)) or NO_CALL


def tool_labels(tools: frozenset[str]) -> list[str]:
    """The per-tool table's rows an example counts in: each tool it calls, or :data:`~slmswap.metrics.NO_CALL`."""
    return sorted(tools) or [NO_CALL]


@dataclass(frozen=True)
class Split:
    """Which examples are held out, and which tools could not be on both sides."""

    test: list[bool]
    """Per example (in the order given), whether it is in the test split."""
    rare: list[str]
    """Tools (and :data:`~slmswap.metrics.NO_CALL`) too rare to be on both sides: kept in training."""
    one_sided: list[str]
    """Tools that are not rare yet ended on one side only (empty unless groups tie them to other tools)."""


def split_groups(
    strata: Sequence[frozenset[str]],
    groups: Sequence[int],
    *,
    test_fraction: float,
    seed: int,
    min_examples: int = MIN_EXAMPLES_PER_TOOL,
) -> Split:
    """Split examples (their tool sets ``strata`` and near-duplicate ``groups``) into train and test."""
    if not 0 < test_fraction < 1:
        raise ConfigError(f"the test fraction must be between 0 and 1, got {test_fraction}")
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    examples_of: Counter[str] = Counter(label for tools in strata for label in tool_labels(tools))
    groups_of: Counter[str] = Counter(
        label for indices in members.values() for label in {lab for i in indices for lab in tool_labels(strata[i])}
    )
    rare = sorted(label for label in examples_of if examples_of[label] < min_examples or groups_of[label] < 2)
    rare_set = set(rare)
    by_stratum: dict[str, list[int]] = {}
    for group, indices in members.items():
        stratum = Counter(stratum_label(strata[i]) for i in indices).most_common(1)[0][0]
        by_stratum.setdefault(stratum, []).append(group)
    rng = random.Random(seed)
    in_test: set[int] = set()
    for stratum in sorted(by_stratum):
        candidates = [
            g
            for g in by_stratum[stratum]
            if not any(lab in rare_set for i in members[g] for lab in tool_labels(strata[i]))
        ]
        rng.shuffle(candidates)
        target = test_fraction * sum(len(members[g]) for g in by_stratum[stratum])
        held = 0
        for group in candidates:
            if abs(held + len(members[group]) - target) < abs(held - target):
                in_test.add(group)
                held += len(members[group])
    one_sided = _balance(members, strata, in_test, rare_set)
    return Split([groups[i] in in_test for i in range(len(groups))], rare, one_sided)


def _balance(
    members: dict[int, list[int]], strata: Sequence[frozenset[str]], in_test: set[int], rare: set[str]
) -> list[str]:
    """Move each non-rare tool's smallest group to the side it is missing from; the tools still one-sided."""

    having: dict[str, list[int]] = {}
    for group, indices in members.items():
        for label in sorted({label for i in indices for label in tool_labels(strata[i])}):
            having.setdefault(label, []).append(group)

    def sides(label: str) -> tuple[list[int], list[int]]:
        return [g for g in having[label] if g not in in_test], [g for g in having[label] if g in in_test]

    labels = sorted(set(having) - rare)
    for label in labels:
        train, test = sides(label)
        if not test and len(train) > 1:
            in_test.add(min(train, key=lambda g: (len(members[g]), g)))
        elif not train and len(test) > 1:
            in_test.discard(min(test, key=lambda g: (len(members[g]), g)))
    return [label for label in labels if not all(sides(label))]


@dataclass(frozen=True)
class Leakage:
    """What a random split of the same examples would have held out that training had also seen."""

    test_examples: int
    """Random-split test examples with a duplicate or near-duplicate in the random-split training side."""
    of_test: int
    """The random split's test examples."""
    pairs: int
    """(train, test) pairs in the same group under the random split."""


def random_split_leakage(groups: Sequence[int], *, test_fraction: float, seed: int) -> Leakage:
    """The leakage of a plain random split (seeded) of examples with these ``groups``."""
    order = list(range(len(groups)))
    random.Random(seed).shuffle(order)
    n_test = round(test_fraction * len(groups))
    test, train = order[:n_test], order[n_test:]
    train_count = Counter(groups[i] for i in train)
    test_count = Counter(groups[i] for i in test)
    return Leakage(
        test_examples=sum(1 for i in test if train_count[groups[i]] > 0),
        of_test=n_test,
        pairs=sum(count * train_count[group] for group, count in test_count.items()),
    )
