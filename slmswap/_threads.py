"""How many CPU threads torch runs: the cores other work leaves free, re-checked while the work runs.

Every CPU phase of slmswap (evaluation's prefill and decode, training, export) runs inside :func:`cpu_phase`. A
small model on a CPU is made of skinny matrix products whose OpenMP threads wait for each other at every
operation: one thread that the kernel gives to another process stalls the rest, so more threads than free cores
is not a fair share but a collapse (with one CPU-bound neighbour on two cores, a forward pass at two threads took
1.6x as long as at one; idle, two threads were 1.4x faster). No fixed count is right, so the count follows the
machine:

- **What is free.** ``/proc/stat`` says how busy all cores were; this process's own CPU time (every thread of
  it, ``time.process_time``) is taken off, so what is left is the other processes' work. The free cores are
  those this process may run on (its affinity) less that work, smoothed over about 1.5 s (a neighbour busy half
  of each second counts as half a core).
- **When.** The phase starts from the smoothed estimate, read afresh (the first phase of a process, or one
  after 5 s without a reading, samples a quarter of a second first), then re-reads every half second of work:
  from the forward pass of every layer of a watched model (:meth:`ThreadPolicy.watching`: prefill, each decoded
  token, each training micro-batch) and from explicit :meth:`ThreadPolicy.check` calls. Between readings a
  check costs one clock read (under 1 us); a reading costs one read of ``/proc/stat`` (20-65 us): with 31
  watched modules in the default model, well under 0.1 % of a decode step.
- **The rule.** Step down at once when the free cores fall 0.35 below the count in use; step up when a further
  core is at least 75 % free. Between the two the count stays (no flapping with a bursty neighbour).

What pins the count instead (:attr:`ThreadPolicy.source` says which): a count given to the phase (``--threads``,
``TrainConfig.threads``, ``TransformersBackend(threads=...)``); ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` in the
environment (torch's count, read from it, is kept); a count set with ``torch.set_num_threads`` before the phase,
recognised as one that differs from torch's own default (the physical cores, as torch counts them from
``/sys/devices/system/cpu``; slmswap restores the count it found after each phase, so a count it set is never
mistaken for the user's). On a CUDA machine the count is left alone unless given (the GPU does the work). A phase
started inside another joins it (the scoring inside training is the training's phase), unless it is given a
count of its own.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ThreadChange", "ThreadPolicy", "active_policy", "cpu_phase", "free_cores", "next_count"]

_STAT = Path("/proc/stat")
_CPUS = Path("/sys/devices/system/cpu")
_EVERY = 0.5
"""Seconds of work between two readings of the machine."""
_SMOOTHING = 1.5
"""Time constant (s) of the smoothed estimate of the other processes' work."""
_FIRST_SAMPLE = 0.25
"""The shortest window a phase starts from (slept if the last reading is more recent)."""
_STALE = 5.0
"""Seconds after which the readings so far are forgotten and a phase samples afresh."""
_DOWN = 0.35
"""Step down when the free cores fall this far below the count in use."""
_UP = 0.25
"""Step up when a further core is free but for this much."""


@dataclass(frozen=True)
class ThreadChange:
    """One change of the thread count (the first entry of a phase is its starting count)."""

    seconds: float
    """Since the phase began."""
    threads: int
    """The count from then on."""
    free: float | None
    """Cores free of other work, as estimated then (``None`` where the count is pinned)."""

    def describe(self, previous: int | None) -> str:
        """``threads 2 -> 1 (1.0 of 2 cores free)``, for a progress display."""
        change = f"{previous} -> {self.threads}" if previous is not None else str(self.threads)
        shown = f" ({self.free:.1f} of {_usable_cores()} cores free)" if self.free is not None else ""
        return f"threads {change}{shown}"


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _machine_cores() -> int:
    return os.cpu_count() or _usable_cores()


@functools.cache
def _physical_cores() -> int | None:
    """The physical cores of the machine as torch's cpuinfo counts them (distinct package and core ids)."""
    cores = set()
    for topology in _CPUS.glob("cpu[0-9]*/topology"):
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            return None
    return len(cores) or None


def _torch_default() -> int:
    """The count torch starts with when nothing in the environment sets it."""
    return _physical_cores() or _machine_cores()


class _Sampler:
    """The other processes' work in cores: ``/proc/stat``'s busy time less this process's CPU time."""

    def __init__(self) -> None:
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._read()
        self.others: float | None = None
        """The smoothed estimate (cores); ``None`` until a window has been read."""

    def _read(self) -> tuple[float, float, float] | None:
        """(wall clock, busy seconds of all cores, this process's CPU seconds); ``None`` without ``/proc/stat``."""
        try:
            with _STAT.open() as stat:
                fields = stat.readline().split()[1:9]  # user nice system idle iowait irq softirq steal (not guest)
        except OSError:
            return None
        ticks = [int(x) for x in fields]
        busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
        return time.perf_counter(), busy / self._hz, time.process_time()

    def restart(self) -> None:
        """Forget the readings so far (the next window starts now)."""
        self._last = self._read()
        self.others = None

    def age(self) -> float:
        """Seconds since the last reading (infinite without ``/proc/stat``)."""
        return math.inf if self._last is None else time.perf_counter() - self._last[0]

    def read(self) -> float | None:
        """Read the machine; the smoothed other processes' work in cores (``None`` without ``/proc/stat``)."""
        now = self._read()
        if now is None or self._last is None:
            return None
        wall, busy, own = (a - b for a, b in zip(now, self._last, strict=True))
        if wall <= 0:
            return self.others
        self._last = now
        others = max(0.0, min(float(_machine_cores()), (busy - own) / wall))
        if self.others is None:
            self.others = others
        else:
            weight = 1 - math.exp(-wall / _SMOOTHING)
            self.others += weight * (others - self.others)
        return self.others


_SAMPLER: _Sampler | None = None
_ACTIVE: list[ThreadPolicy] = []


def _sampler() -> _Sampler:
    global _SAMPLER
    if _SAMPLER is None:
        _SAMPLER = _Sampler()
    return _SAMPLER


def free_cores(sample_seconds: float = _FIRST_SAMPLE) -> float | None:
    """The cores (of those this process may use) that other processes left free, smoothed over the readings so
    far; ``None`` without ``/proc/stat``. A first reading (or one after 5 s without any) waits until
    ``sample_seconds`` have passed since the window opened; later ones read at once (the smoothed estimate
    carries from one phase to the next, so a phase that starts right after another pays nothing)."""
    sampler = _sampler()
    if sampler.age() > _STALE:  # an average over minutes past says little about now
        sampler.restart()
    wait = sample_seconds - sampler.age()
    if sampler.others is None and wait > 0:
        time.sleep(wait)
    others = sampler.read()
    if others is None:
        return None
    return max(0.0, min(float(_usable_cores()), _machine_cores() - others))


def next_count(current: int | None, free: float, ceiling: int) -> int:
    """The thread count for ``free`` cores, from ``current`` (``None``: starting): down at once when ``free``
    falls 0.35 below ``current``, up when a further core is 75 % free, else ``current``; between 1 and
    ``ceiling``."""
    if current is None:
        return max(1, min(ceiling, math.floor(free + _UP)))
    if math.floor(free + _UP) > current:
        return min(ceiling, math.floor(free + _UP))
    if free < current - _DOWN:
        return max(1, math.floor(free + _DOWN))
    return max(1, min(ceiling, current))


class ThreadPolicy:
    """The thread count of one CPU phase: pinned, or following the free cores (see the module).

    A context manager: entering sets the starting count and makes it the :func:`active_policy`, leaving
    restores torch's count. :func:`cpu_phase` runs a phase under one (or joins the phase already running).

    Args:
        threads: A count to pin (``None``: adaptive, unless the environment or the user pinned torch's count).
        name: What the phase is (``"training"``, ``"evaluation"``), for its record.
        every: Seconds of work between two readings of the machine.
        free: Reads the free cores, given the shortest window to read over (default :func:`free_cores`).
    """

    def __init__(
        self,
        threads: int | None = None,
        *,
        name: str = "cpu",
        every: float = _EVERY,
        free: Callable[[float], float | None] = free_cores,
    ) -> None:
        import torch

        self.name = name
        self.every = every
        self._free = free
        self._torch = torch
        self._found = torch.get_num_threads()
        self.source = _source(threads, self._found, torch.cuda.is_available())
        """What decides the count: ``adaptive``, ``pinned`` (given), ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``,
        ``torch.set_num_threads`` (set before the phase), or ``cuda`` (left alone on a GPU machine)."""
        self.ceiling = min(_usable_cores(), self._found)
        """The most threads an adaptive policy runs: the usable cores, at most torch's own count."""
        self.threads = threads if threads is not None else self._found
        """The count in use."""
        self.changes: list[ThreadChange] = []
        """The starting count and each change, in order."""
        self.listeners: list[Callable[[ThreadChange, int | None], None]] = []
        """Told of each change (with the count before it): progress displays add themselves."""
        self._started = time.perf_counter()
        self._since = self._started
        self._seconds_at: dict[int, float] = {}
        self._checked = self._started
        self._finished = False

    @property
    def adaptive(self) -> bool:
        """Whether the count follows the free cores."""
        return self.source == "adaptive"

    def __enter__(self) -> ThreadPolicy:
        self.start()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)
        self.finish()

    def start(self) -> None:
        """Set the starting count (the free cores since the last reading, for an adaptive policy)."""
        self._started = self._since = self._checked = time.perf_counter()
        free = self._free(_FIRST_SAMPLE) if self.adaptive else None
        count = next_count(None, free, self.ceiling) if free is not None else self.threads
        self._set(count, free, force=True)

    def check(self) -> None:
        """Re-read the machine if half a second of work has passed since the last reading, and change the count
        if the free cores call for it (a clock read otherwise)."""
        now = time.perf_counter()
        if not self.adaptive or now - self._checked < self.every or active_policy() not in (self, None):
            return
        self._checked = now
        free = self._free(0.0)
        if free is not None:
            self._set(next_count(self.threads, free, self.ceiling), free)

    def _set(self, count: int, free: float | None, *, force: bool = False) -> None:
        if count == self.threads and not force:
            return
        now = time.perf_counter()
        previous = self.threads if self.changes else None
        if self.changes:
            self._seconds_at[self.threads] = self._seconds_at.get(self.threads, 0.0) + now - self._since
        self._since = now
        self.threads = count
        if count != self._torch.get_num_threads():
            self._torch.set_num_threads(count)
        change = ThreadChange(seconds=now - self._started, threads=count, free=free)
        self.changes.append(change)
        if previous is not None:
            for listener in list(self.listeners):
                listener(change, previous)

    def finish(self) -> None:
        """Restore the count torch had before the phase."""
        now = time.perf_counter()
        self._seconds_at[self.threads] = self._seconds_at.get(self.threads, 0.0) + now - self._since
        self._since = now
        self._finished = True
        if self._torch.get_num_threads() != self._found:
            self._torch.set_num_threads(self._found)

    @contextmanager
    def watching(self, model: Any) -> Iterator[None]:
        """Check before the forward pass of ``model`` and of each of its layers (the items of its module lists)
        while the block runs: prefill, every decoded token and every training micro-batch re-check."""
        if not self.adaptive:
            yield
            return
        import torch

        def hook(module: Any, args: Any) -> None:
            self.check()

        watched = [model] + [layer for m in model.modules() if isinstance(m, torch.nn.ModuleList) for layer in m]
        handles = [module.register_forward_pre_hook(hook) for module in watched]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def record(self) -> dict[str, Any]:
        """What ``demo.json``, a run's records and a trained model's manifest keep: the source, the counts used
        (seconds at each) and every change."""
        seconds_at = dict(self._seconds_at)
        if self.changes and not self._finished:  # the count in use, until now
            seconds_at[self.threads] = seconds_at.get(self.threads, 0.0) + time.perf_counter() - self._since
        return {
            "phase": self.name,
            "source": self.source,
            "threads": self.threads,
            "seconds_at": {str(count): round(seconds, 3) for count, seconds in sorted(seconds_at.items())},
            "changes": [
                {
                    "seconds": round(c.seconds, 3),
                    "threads": c.threads,
                    "free": None if c.free is None else round(c.free, 2),
                }
                for c in self.changes
            ],
        }


def _source(threads: int | None, found: int, cuda: bool) -> str:
    if threads is not None:
        return "pinned"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").strip():
            return name
    if found != _torch_default():
        return "torch.set_num_threads"
    return "cuda" if cuda else "adaptive"


def active_policy() -> ThreadPolicy | None:
    """The policy of the CPU phase running now (the innermost), if any."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextmanager
def cpu_phase(threads: int | None = None, *, name: str = "cpu") -> Iterator[ThreadPolicy]:
    """Run the block as a CPU phase under a :class:`ThreadPolicy` (``threads``: pinned); yields it. The count
    torch had is restored after. Inside another phase, ``threads=None`` (or the outer phase's pinned count)
    joins it: yields the outer policy."""
    outer = active_policy()
    if outer is not None and (threads is None or (threads == outer.threads and not outer.adaptive)):
        yield outer
        return
    with ThreadPolicy(threads, name=name) as policy:
        yield policy
