"""Holm's step-down correction against cases worked out by hand."""

from __future__ import annotations

import pytest

from slmswap.bakeoff import holm


def test_holm_matches_a_hand_computed_family() -> None:
    # m = 4, sorted: 0.005 * 4 = 0.02; 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04, raised to the running 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_keeps_the_order_of_the_raw_p_values() -> None:
    assert holm([0.5, 0.7]) == pytest.approx([1.0, 1.0])  # 0.5 * 2 = 1.0; 0.7 * 1 = 0.7, raised to 1.0
    assert holm([0.6, 0.2]) == pytest.approx([0.6, 0.4])


def test_holm_of_one_test_is_the_test_and_of_none_is_nothing() -> None:
    assert holm([0.02]) == [0.02]
    assert holm([]) == []
