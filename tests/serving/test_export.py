"""Export and serve refuse what they cannot do, with messages that say what is missing, before any work."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest

from slmswap.errors import ConfigError, FormatError
from slmswap.formats import ChatFormat, ParseResult, register_format, registry as registry_module
from slmswap.schema import Message, Tool
from slmswap.serving import export, serve_command
from slmswap.serving.template import baked_chat_template
from slmswap.train import Manifest
from slmswap.trained.manifest import ExportInfo

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class PlainFormat(ChatFormat):
    """A plugin-style format that says nothing about serving."""

    name: ClassVar[str] = "plainfmt"
    system_prompt_source: ClassVar[str] = "the conversation's own"

    def render_assistant(self, turn: Message) -> str:
        return turn.content or ""

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        return ParseResult(Message.assistant(content=text))


@pytest.fixture
def plain_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_registry", dict(registry_module._registry))
    register_format("plainfmt", PlainFormat, source="tests")
    return


def _training_output(directory: Path, tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat) -> Path:
    tokenizer.save_pretrained(str(directory))
    Manifest.create(
        fmt=fmt, tokenizer=tokenizer, base_model="base", method="lora", config={}, data={}, metrics={}
    ).save(directory)
    return directory


def test_a_format_without_serving_hooks_is_refused_naming_what_is_missing(
    plain_registered: None, tokenizer: PreTrainedTokenizerBase, tmp_path: Path
) -> None:
    with pytest.raises(FormatError, match=r"format 'plainfmt' cannot be exported: it provides no serving_hooks\(\)"):
        baked_chat_template(PlainFormat(), tokenizer)
    source = _training_output(tmp_path / "trained", tokenizer, PlainFormat())
    with pytest.raises(FormatError, match="cannot be exported"):
        export(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written
    assert [p.name for p in tmp_path.iterdir()] == ["trained"]  # no staging directory left behind


def test_export_refuses_a_directory_with_files(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    from slmswap.formats import get_format

    source = _training_output(tmp_path / "trained", tokenizer, get_format("hermes"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not an empty directory"):
        export(source, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_serve_needs_an_exported_directory(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    from slmswap.formats import get_format

    source = _training_output(tmp_path / "trained", tokenizer, get_format("hermes"))
    with pytest.raises(ConfigError, match="not an exported one: run 'slmswap export"):
        serve_command(source, engine="transformers")
    manifest = Manifest.load(source)
    info = ExportInfo(merged=False, chat_template_sha256="x", response_template_added=True)
    manifest.model_copy(update={"export": info}).save(source)
    with pytest.raises(ConfigError, match=r"transformers serve loads full models only\. Export with --merge"):
        serve_command(source, engine="transformers")
    info = ExportInfo(merged=True, chat_template_sha256="x", response_template_added=True)
    manifest.model_copy(update={"export": info}).save(source)
    command = serve_command(source, engine="transformers", port=8123)
    # transformers serve, with slmswap's layer around its response parsing
    assert command.argv[1:5] == ["-m", "slmswap.serving.transformers_engine", "serve", str(source.resolve())]
    assert command.base_url == "http://127.0.0.1:8123/v1"
    assert command.model == str(source.resolve())
