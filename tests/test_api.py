"""The public API: ``import slmswap`` reaches every name a user needs, lazily, and format knowledge stays in
``formats/``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import slmswap

ROOT = Path(__file__).resolve().parent.parent


def test_the_facade_reaches_the_whole_job() -> None:
    assert slmswap.get_format("hermes").name == "hermes"
    assert callable(slmswap.evaluate)
    assert callable(slmswap.diagnose)
    assert callable(slmswap.export)
    assert slmswap.Trainer.__name__ == "Trainer"
    for name in slmswap.__all__:
        assert getattr(slmswap, name) is not None, name
    assert set(slmswap.__all__) == {*slmswap._HOMES, "__version__"}
    # Each name is the very object its home module defines, not a copy.
    from slmswap.evaluation import evaluate
    from slmswap.formats.registry import get_format

    assert slmswap.evaluate is evaluate
    assert slmswap.get_format is get_format


def test_import_slmswap_loads_no_heavy_dependency() -> None:
    code = "import sys, slmswap; print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_subpackages_are_reachable_after_a_bare_import() -> None:
    code = "import slmswap; print(slmswap.metrics.flatten.__name__, slmswap.formats.HermesFormat.name)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["flatten", "hermes"]


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no_such_thing"):
        slmswap.no_such_thing  # noqa: B018


_FORMAT_NAMES = re.compile(r"""(==|!=|\bin\b)\s*[("'\[{]*\s*["'](native|hermes|structured|cep|xml)["']""")


def test_no_code_outside_formats_tests_a_format_by_name() -> None:
    offenders = []
    for path in sorted((ROOT / "slmswap").rglob("*.py")):
        relative = path.relative_to(ROOT / "slmswap").as_posix()
        if relative.startswith(("formats/", "data/")):  # data/ names row shapes ("hermes" rows), not formats
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _FORMAT_NAMES.search(line) or re.search(r"need[s]? (hermes|native|xml|cep)\b", line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
