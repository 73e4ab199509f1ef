"""The split's rules on small cases: whole groups on one side, every tool with enough examples on both sides,
rare tools kept in training and listed, ``max_per_tool`` drops near-duplicates first; and the normalisation that
makes requests exact duplicates."""

from __future__ import annotations

import pytest

from slmswap.curation.duplicates import request_key
from slmswap.curation.split import random_split_leakage, split_groups
from slmswap.errors import ConfigError
from slmswap.metrics import NO_CALL
from slmswap.schema import Conversation, Message, Tool

A, B, NONE = frozenset({"a"}), frozenset({"b"}), frozenset()


def test_groups_stay_whole_and_tools_land_on_both_sides() -> None:
    strata = [A] * 30 + [B] * 10 + [NONE] * 10
    groups = [i // 3 for i in range(30)] + list(range(100, 110)) + list(range(200, 210))
    split = split_groups(strata, groups, test_fraction=0.2, seed=0)
    for group in set(groups):
        assert len({split.test[i] for i, g in enumerate(groups) if g == group}) == 1
    for stratum in (A, B, NONE):
        sides = {split.test[i] for i, s in enumerate(strata) if s == stratum}
        assert sides == {True, False}
    assert split.rare == []
    assert 0.1 < sum(split.test) / len(split.test) < 0.3


def test_a_tool_with_too_few_examples_or_one_group_is_rare_and_trained_on() -> None:
    strata = [A] * 20 + [B] * 2 + [frozenset({"c"})] * 5
    groups = list(range(20)) + [50, 51] + [60] * 5  # c: five examples, all near-duplicates of each other
    split = split_groups(strata, groups, test_fraction=0.3, seed=1, min_examples=3)
    assert split.rare == ["b", "c"]
    assert not any(split.test[20:])


def test_the_random_split_leaks_what_the_groups_say() -> None:
    leak = random_split_leakage([0, 0, 1, 1, 2, 3], test_fraction=0.5, seed=0)
    assert leak.of_test == 3
    assert leak.test_examples == leak.pairs  # groups of two: each leaked test example is one pair
    assert random_split_leakage([0, 1, 2, 3], test_fraction=0.5, seed=0).test_examples == 0


def test_a_fraction_outside_zero_and_one_is_refused() -> None:
    with pytest.raises(ConfigError, match="test fraction"):
        split_groups([A], [0], test_fraction=1.0, seed=0)


def test_whitespace_and_tool_order_do_not_make_a_request_new() -> None:
    tools = (Tool(name="x"), Tool(name="y", description="why"))
    one = Conversation(messages=(Message.user("weather  in\tParis ?"),), tools=tools)
    two = Conversation(messages=(Message.user(" weather in Paris ? "),), tools=tools[::-1])
    other = Conversation(messages=(Message.user("weather in Rome ?"),), tools=tools)
    assert request_key(one) == request_key(two) != request_key(other)


def test_no_call_is_its_own_stratum_name() -> None:
    from slmswap.curation.split import stratum_label

    assert stratum_label(NONE) == NO_CALL
    assert stratum_label(frozenset({"b", "a"})) == "a+b"
