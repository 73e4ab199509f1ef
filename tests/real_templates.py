"""Real chat templates: the ones TRL ships as data, on SmolLM2's tokenizer with each family's special tokens added."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_SPECIAL = re.compile(
    r"<\|[^<>|\s]{1,40}\|>|<｜[^<>｜]{1,40}｜>|<(?:start|end)_of_turn>|<end_of_utterance>|</?s>|\[/?(?:INST|TOOL_CALLS|AVAILABLE_TOOLS)\]"
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
    found = set(_SPECIAL.findall(template))
    specials = sorted(t for t in found if len(tokenizer(t, add_special_tokens=False)["input_ids"]) != 1)
    if specials:
        tokenizer.add_special_tokens({"additional_special_tokens": specials})
    return tokenizer
