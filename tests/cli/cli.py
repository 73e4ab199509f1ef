"""Running the real ``slmswap`` console script (the entry point pip installed) in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SLMSWAP = Path(sys.executable).with_name("slmswap")
"""The console script installed next to this interpreter."""


def slmswap(*args: str | Path, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``slmswap ARGS...``; the completed process, output captured as text."""
    assert SLMSWAP.is_file(), f"the slmswap console script is not installed next to {sys.executable}"
    return subprocess.run(
        [str(SLMSWAP), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )
