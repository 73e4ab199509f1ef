"""Resident memory of this process: its peak since a mark (per stage of a long job), and handing freed memory
back to the system between stages."""

from __future__ import annotations

import contextlib
import gc
import resource
import sys
from pathlib import Path

__all__ = ["peak_rss", "release", "reset_peak"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Start measuring the peak anew (Linux: resets ``VmHWM``); ``False`` where the system cannot, and
    :func:`peak_rss` then reports the whole process's peak."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss() -> int:
    """Peak resident memory in bytes since :func:`reset_peak` (else since the process started)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB elsewhere


def release() -> None:
    """Collect garbage and hand freed heap memory back to the system (glibc's ``malloc_trim``), so what an
    earlier stage held does not count against the next one."""
    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # not glibc
            ctypes.CDLL("libc.so.6").malloc_trim(0)
