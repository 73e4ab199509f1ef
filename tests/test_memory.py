"""Peak resident memory per stage: sampled while the stage runs, with no side effect on the process's own
high-water mark (which ``/usr/bin/time -v`` and every other outside tool reads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from slmswap._memory import StagePeak, peak_rss, release


def test_a_stage_peak_counts_what_the_stage_touched() -> None:
    with StagePeak() as memory:
        block = bytearray(192 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        del block
    release()
    assert memory.peak >= 192 * 2**20
    assert peak_rss() >= memory.peak


def test_measuring_a_stage_leaves_the_process_peak_as_it_was() -> None:
    """The regression: resetting ``/proc/self/clear_refs`` made ``/usr/bin/time -v`` report the last stage's peak
    (0.61 GB for a demo whose own stages said 2.51 GB)."""
    code = textwrap.dedent(
        """
        from slmswap._memory import StagePeak, peak_rss, release
        block = bytearray(400 * 2**20); block[::4096] = b"x" * len(block[::4096]); del block
        release()
        before = peak_rss()
        with StagePeak() as stage:
            small = bytearray(32 * 2**20); small[::4096] = b"y" * len(small[::4096])
        print(before, peak_rss(), stage.peak)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, stage = map(int, result.stdout.split())
    assert before >= 400 * 2**20
    assert after >= before  # the stage did not lower the high-water mark
    assert stage < before  # ... and its own peak is its own, not the process's
    assert stage >= 32 * 2**20
