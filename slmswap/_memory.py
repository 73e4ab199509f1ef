"""Resident memory of this process: the peak of one stage of a long job, sampled, and handing freed memory back
to the system between stages.

A stage's peak is sampled (a background thread reads the resident size, ``VmRSS``, every few milliseconds) rather
than measured by resetting the kernel's high-water mark: a reset would hide the process's true peak from every
outside tool (``/usr/bin/time -v`` would report the last stage's peak, not the job's). A spike shorter than the
sampling interval can be missed; the process's own peak (:func:`peak_rss`) never is.
"""

from __future__ import annotations

import contextlib
import gc
import resource
import sys
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["StagePeak", "peak_rss", "release", "rss"]

_STATUS = Path("/proc/self/status")
_INTERVAL = 0.005  # seconds between samples: reading /proc/self/status takes ~20 µs, so well under 1 % of a core


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss() -> int:
    """The process's peak resident memory in bytes since it started (``VmHWM``, else ``getrusage``)."""
    kib = _status_kib("VmHWM:")
    if kib is not None:
        return kib * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB elsewhere


def rss() -> int | None:
    """The process's resident memory in bytes now (``VmRSS``); ``None`` where the system does not say."""
    kib = _status_kib("VmRSS:")
    return None if kib is None else kib * 1024


class StagePeak:
    """The peak resident memory while a ``with`` block runs, sampled by a background thread.

    Where the resident size cannot be read (no ``/proc``), :attr:`peak` is the process's peak so far
    (:func:`peak_rss`), which bounds the stage's from above.
    """

    def __init__(self, interval: float = _INTERVAL) -> None:
        self.interval = interval
        self.peak = 0
        """The highest resident size seen, in bytes (final once the block has ended)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="slmswap-rss-sampler", daemon=True)

    def _sample(self) -> None:
        while True:
            now = rss()
            if now is None:
                return
            self.peak = max(self.peak, now)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> StagePeak:
        self.peak = rss() or 0
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        now = rss()
        self.peak = max(self.peak, now) if now is not None else peak_rss()


def release() -> None:
    """Collect garbage and hand freed heap memory back to the system (glibc's ``malloc_trim``), so what an
    earlier stage held does not count against the next one."""
    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # not glibc
            ctypes.CDLL("libc.so.6").malloc_trim(0)
