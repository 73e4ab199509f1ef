"""The format registry: built-ins, code registration, entry-point plugins (a real installed example package)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from slmswap.errors import FormatError
from slmswap.formats import (
    CepFormat,
    ChatFormat,
    HermesFormat,
    StructuredFormat,
    available_formats,
    get_format,
    register_format,
    registry as registry_module,
    resolve_format,
)

PLUGIN = Path(__file__).parents[2] / "examples" / "plugin_format"


def test_builtins_are_listed_with_their_source() -> None:
    formats = available_formats()
    for name in ("native", "hermes", "structured", "cep", "xml"):
        assert formats[name] == "slmswap (built-in)"


def test_get_format_with_options() -> None:
    assert isinstance(get_format("hermes"), HermesFormat)
    cep = get_format("cep", variant="compact")
    assert isinstance(cep, CepFormat)
    assert cep.options() == {"variant": "compact"}
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    assert get_format("structured", schema=schema).options() == {"schema": schema}
    with pytest.raises(FormatError, match="does not accept the options"):
        get_format("hermes", colour="blue")
    with pytest.raises(FormatError, match="unknown CEP variant 'huge'"):
        get_format("cep", variant="huge")
    with pytest.raises(FormatError, match="unknown format 'nope'; available: cep, hermes"):
        get_format("nope")


def test_resolve_format_passes_instances_through() -> None:
    fmt = StructuredFormat()
    assert resolve_format(fmt) is fmt
    assert isinstance(resolve_format("xml"), ChatFormat)


def test_register_in_code_and_clash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_registry", dict(registry_module._registry))
    register_format("hermes2", HermesFormat, source="my tests")
    assert available_formats()["hermes2"] == "my tests"
    with pytest.raises(FormatError, match=r"'hermes' is claimed by both slmswap \(built-in\) and other code"):
        register_format("hermes", HermesFormat, source="other code")
    register_format("hermes", HermesFormat, source="other code", replace=True)
    assert available_formats()["hermes"] == "other code"


def _run(code: str, path: Path) -> subprocess.CompletedProcess[str]:
    env_path = f"{path}"
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=True,
    )
    return target


def test_example_plugin_installs_and_is_found_by_name(plugin_dir: Path) -> None:
    result = _run(
        """
        from slmswap.formats import available_formats, get_format
        from slmswap.schema import Message, ToolCall
        assert available_formats()["jsonlist"].endswith("from slmswap-jsonlist"), available_formats()
        fmt = get_format("jsonlist")
        turn = Message.assistant(tool_calls=[ToolCall(name="f", arguments={"a": [1, "</x>"]}), ToolCall(name="g")])
        assert fmt.parse(fmt.render_assistant(turn)).turn == turn
        print("plugin ok", type(fmt.inner).__module__)
        """,
        plugin_dir,
    )
    assert result.returncode == 0, result.stderr
    assert "plugin ok slmswap_jsonlist" in result.stdout


def _fake_distribution(root: Path, name: str, entry: str, module_source: str) -> Path:
    """A real (hand-written) installed distribution: a dist-info with METADATA and entry_points.txt."""
    dist_info = root / f"{name}-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[slmswap.formats]\n{entry}\n")
    (root / f"{name}_mod.py").write_text(module_source)
    return root


def test_broken_plugin_warns_and_slmswap_still_imports(tmp_path: Path) -> None:
    root = _fake_distribution(tmp_path, "brokenplugin", "broken = brokenplugin_mod:Fmt", "raise ImportError('boom')\n")
    result = _run(
        """
        import warnings
        import slmswap
        from slmswap.errors import FormatError
        from slmswap.formats import available_formats, get_format
        assert "broken" in available_formats()
        assert get_format("hermes").name == "hermes"
        try:
            get_format("broken")
        except FormatError as exc:
            print("refused:", exc)
        """,
        root,
    )
    assert result.returncode == 0, result.stderr
    assert "refused: format 'broken' (plugin 'brokenplugin_mod:Fmt' from brokenplugin) failed to load" in result.stdout
    assert "ImportError: boom" in result.stderr  # the warning names the plugin and the cause
    assert "brokenplugin" in result.stderr


def test_plugin_name_clash_is_skipped_with_a_warning_naming_both(tmp_path: Path) -> None:
    root = _fake_distribution(tmp_path, "clashplugin", "hermes = clashplugin_mod:Fmt", "Fmt = None\n")
    _fake_distribution(
        root, "extraplugin", "extra = extraplugin_mod:Fmt", "from slmswap.formats import XmlFormat as Fmt\n"
    )
    result = _run(
        """
        from slmswap.formats import available_formats, get_format
        formats = available_formats()
        assert formats["hermes"] == "slmswap (built-in)", formats
        assert "extra" in formats, formats  # discovery carried on past the clash
        print(type(get_format("hermes")).__name__, get_format("xml").name)
        """,
        root,
    )
    assert result.returncode == 0, result.stderr
    assert "HermesFormat xml" in result.stdout
    assert (
        "format name 'hermes' is claimed by both slmswap (built-in) and plugin 'clashplugin_mod:Fmt' from clashplugin"
        in result.stderr
    )
    assert "skipping plugin 'clashplugin_mod:Fmt'" in result.stderr


_CAPABLE = """
from slmswap.formats import ChatFormat, HermesFormat


class ToolsFmt(HermesFormat):
    name = "toolsfmt"


class NeedsTok(HermesFormat):
    name = "needstok"
    needs_tokenizer = True

    def __init__(self, tokenizer, loud=False):
        self.tokenizer = tokenizer
        self.loud = loud

    def options(self):
        return {"loud": self.loud}


class AnswersOnly(HermesFormat):
    name = "answersonly"
    writes_tool_calls = False
"""


def test_plugin_capabilities_reach_hints_and_the_tokenizer(tmp_path: Path) -> None:
    root = _fake_distribution(
        tmp_path,
        "capable",
        "toolsfmt = capable_mod:ToolsFmt\nneedstok = capable_mod:NeedsTok\nanswersonly = capable_mod:AnswersOnly",
        _CAPABLE,
    )
    result = _run(
        """
        from slmswap.formats import resolve_format, tool_call_formats, tool_call_hint
        names = tool_call_formats()
        assert "toolsfmt" in names and "needstok" in names and "native" in names, names
        assert "answersonly" not in names and "structured" not in names, names
        assert "native" not in tool_call_formats(as_text=True)
        fmt = resolve_format("needstok", tokenizer="TOKENIZER", loud=True)
        assert fmt.inner.tokenizer == "TOKENIZER" and fmt.options() == {"loud": True}
        assert resolve_format("toolsfmt", tokenizer="TOKENIZER").name == "toolsfmt"  # not handed over
        print(tool_call_hint())
        """,
        root,
    )
    assert result.returncode == 0, result.stderr
    assert "'toolsfmt'" in result.stdout
    assert "'hermes'" in result.stdout


_FAULTY = """
from slmswap.formats import HermesFormat


class Fmt(HermesFormat):
    name = "faulty"

    def parse(self, text, *, tools=(), strict=True):
        raise KeyError("parse bug")

    def render_assistant(self, turn):
        raise ZeroDivisionError("render bug")


def broken_factory(**options):
    raise RuntimeError("cannot build")
"""


def test_plugin_raising_on_use_is_isolated(tmp_path: Path) -> None:
    root = _fake_distribution(tmp_path, "faultyplugin", "faulty = faultyplugin_mod:Fmt", _FAULTY)
    dist_info = root / "faultyplugin-0.1.dist-info" / "entry_points.txt"
    dist_info.write_text(
        "[slmswap.formats]\nfaulty = faultyplugin_mod:Fmt\nunbuildable = faultyplugin_mod:broken_factory\n"
    )
    result = _run(
        """
        from slmswap.errors import FormatError
        from slmswap.formats import get_format
        from slmswap.schema import Message
        fmt = get_format("faulty")
        parsed = fmt.parse("anything")
        print("parse:", parsed.failure.value, parsed.detail)
        try:
            fmt.render_assistant(Message.assistant("hi"))
        except FormatError as exc:
            print("render:", exc)
        try:
            get_format("unbuildable")
        except FormatError as exc:
            print("build:", exc)
        """,
        root,
    )
    assert result.returncode == 0, result.stderr
    source = "(plugin 'faultyplugin_mod:Fmt' from faultyplugin)"
    assert f"parse: malformed_call format 'faulty' {source} raised in parse: KeyError" in result.stdout
    assert (
        f"render: format 'faulty' {source} raised in render_assistant: ZeroDivisionError: render bug" in result.stdout
    )
    builder = "(plugin 'faultyplugin_mod:broken_factory' from faultyplugin)"
    assert f"build: format 'unbuildable' {builder} failed to build: RuntimeError: cannot build" in result.stdout
    assert result.stderr.count("RuntimeWarning") >= 3  # each failure also warned, naming the plugin
