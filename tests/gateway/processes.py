"""The gateway tests' real processes: ``slmswap`` commands (``serve``, ``gateway``) started as a user starts them,
awaited until they answer, and stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.gateway.standin import free_port


def start_slmswap(
    args: list[str], log: Path, ready: str, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``slmswap ARGS`` with its output in ``log``, once ``ready`` (a URL) answers within ``timeout`` seconds."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "slmswap", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(ready, timeout=2):
                return process
        except OSError:
            assert time.monotonic() < deadline, f"not ready within {timeout:g} s: {log.read_text()}"
            time.sleep(0.5)


def stop(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C the process and wait for it (killed after 60 s); its exit code."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process`` and every process it started (``slmswap serve`` runs its engine as a child), children
    first, as a crash of the machine's server would end them: nothing is told, nothing cleans up."""
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == process.pid]
    for child in children:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    process.kill()
    process.wait()


def _parent(proc: Path) -> int | None:
    try:
        stat = (proc / "stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@contextmanager
def served(exported: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``slmswap serve`` of ``exported`` (transformers serve, one torch thread) on loopback: its ``/v1`` base URL
    and its process."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    process = start_slmswap(
        ["serve", str(exported), "--port", str(port), "--engine", "transformers"],
        log,
        f"{base_url}/models",
        600,
        env={"OMP_NUM_THREADS": "1"},
    )
    try:
        yield base_url, process
    finally:
        stop(process)
