"""Real chat templates: the ones TRL ships as data, on SmolLM2's tokenizer with each family's special tokens added."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_SPECIAL = re.compile(
    r"<\|[^<>|\s]{1,40}\|>|<｜[^<>｜]{1,40}｜>|<(?:start|end)_of_turn>|\[/?(?:INST|TOOL_CALLS|AVAILABLE_TOOLS)\]"
)


def trl_template_dir() -> Path:
    import trl

    return Path(trl.__file__).parent / "chat_templates"


def original_templates() -> list[str]:
    """Names of the original (not ``*_training``) templates TRL ships."""
    return sorted(p.stem for p in trl_template_dir().glob("*.jinja") if not p.stem.endswith("_training"))


def tokenizer_with_template(base: PreTrainedTokenizerBase, name: str) -> PreTrainedTokenizerBase:
    """A copy of ``base`` using TRL's ``name`` template, with the special tokens that template writes added."""
    template = (trl_template_dir() / f"{name}.jinja").read_text()
    tokenizer = copy.deepcopy(base)
    tokenizer.chat_template = template
    specials = sorted(set(_SPECIAL.findall(template)) - set(tokenizer.get_vocab()))
    if specials:
        tokenizer.add_special_tokens({"additional_special_tokens": specials})
    return tokenizer


@pytest.fixture(scope="session")
def template_tokenizers(tokenizer: PreTrainedTokenizerBase) -> dict[str, PreTrainedTokenizerBase]:
    """SmolLM2's own tokenizer plus one per TRL template."""
    tokenizers = {"smollm2": tokenizer}
    tokenizers.update({name: tokenizer_with_template(tokenizer, name) for name in original_templates()})
    return tokenizers
