"""Peak resident memory per stage: the mark resets it, and memory touched after the mark is counted."""

from __future__ import annotations

from slmswap._memory import peak_rss, release, reset_peak


def test_peak_since_the_mark_counts_what_the_stage_touched() -> None:
    block = bytearray(256 * 2**20)  # touched: zero-filled by the allocator, then written below
    block[::4096] = b"x" * len(block[::4096])
    held = peak_rss()
    del block
    release()
    if reset_peak():  # Linux: the peak starts again from what is resident now
        assert peak_rss() < held - 128 * 2**20
    again = bytearray(64 * 2**20)
    again[::4096] = b"y" * len(again[::4096])
    assert peak_rss() >= 64 * 2**20
