"""The base install runs: with the optional extras' packages unimportable (as after ``pip install slmswap`` or
``bash .ci/install`` without extras), the command line loads and the demo's command parses; a command that needs
an extra says which one."""

from __future__ import annotations

import subprocess
import sys

# SQLAlchemy (gateway), datasketch (curate), llguidance (constrained) made unimportable before slmswap loads.
_BLOCK = "import sys; sys.modules.update({name: None for name in ('sqlalchemy', 'datasketch', 'llguidance')}); "


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCK + code], capture_output=True, text=True, timeout=120)


def test_the_command_line_loads_without_the_extras() -> None:
    result = _run("from slmswap.cli import main; raise SystemExit(main(['demo', '--help']))")
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout
    result = _run("import slmswap; print(slmswap.live_verdict.__name__, slmswap.run_bakeoff.__name__)")
    assert result.returncode == 0, result.stderr


def test_a_command_that_needs_an_extra_says_which() -> None:
    result = _run("from slmswap.cli import main; raise SystemExit(main(['traffic', 'nowhere.db']))")
    assert result.returncode == 2, result.stderr
    assert "gateway" in result.stderr
    assert "Traceback" not in result.stderr
