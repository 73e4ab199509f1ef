"""The training thread count: the free cores by default, a configured count when given, restored after."""

from __future__ import annotations

import os

import torch

from slmswap.train.threads import free_cores, torch_threads


def test_free_cores_are_among_the_usable_ones() -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert 1 <= free_cores(sample_seconds=0.05) <= (usable or 1)


def test_a_set_count_is_used_and_the_previous_one_restored() -> None:
    previous = torch.get_num_threads()
    with torch_threads(1) as used:
        assert used == torch.get_num_threads() == 1
    assert torch.get_num_threads() == previous
    with torch_threads(None) as chosen:
        assert 1 <= chosen <= previous
        assert torch.get_num_threads() == chosen
    assert torch.get_num_threads() == previous
