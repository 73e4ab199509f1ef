"""How many CPU threads torch gets while training: the cores actually free, unless the configuration says.

Training a small model with LoRA on a CPU is made of skinny matrix products (rank-16 adapters) and a fused AdamW
step, which collapse when torch runs more threads than there are idle cores: with other work on a two-core
machine, two threads ran a step 2-2.6x slower than one. So the default counts the cores that were idle over a
short sample (``/proc/stat``) among those this process may run on, and uses that many (at least one).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["free_cores", "torch_threads"]

_STAT = Path("/proc/stat")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _busy_idle() -> tuple[int, int] | None:
    try:
        fields = _STAT.read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks) - idle, idle


def free_cores(sample_seconds: float = 0.25) -> int:
    """The cores (of those this process may use) that were idle over ``sample_seconds``; all usable cores where
    the system does not say (no ``/proc/stat``). At least one."""
    usable = _usable_cores()
    before = _busy_idle()
    if before is None:
        return usable
    time.sleep(sample_seconds)
    after = _busy_idle()
    if after is None:
        return usable
    busy, idle = after[0] - before[0], after[1] - before[1]
    if busy + idle <= 0:
        return usable
    machine = os.cpu_count() or usable
    idle_cores = machine * idle / (busy + idle)
    return max(1, min(usable, round(idle_cores)))


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` torch threads, restoring the count after; yields the count used.

    ``None`` takes :func:`free_cores`, at most torch's own count (its default is the physical cores, or
    ``OMP_NUM_THREADS`` where that is set). On a CUDA machine ``None`` leaves the count alone (the GPU does the
    work).
    """
    import torch

    previous = torch.get_num_threads()
    if threads is None and torch.cuda.is_available():
        yield previous
        return
    count = threads if threads is not None else min(previous, free_cores())
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)
