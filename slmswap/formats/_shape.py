"""How a chat template wants its messages shaped, found by probing it once.

Some templates refuse a ``system`` role (Gemma 1/2) and some read ``content`` as a list of typed parts
(``[{"type": "text", "text": ...}]``, as vision-language templates do), silently dropping plain strings. A
:class:`TemplateShape` records both, and :func:`shape_messages` reshapes a format's messages accordingly, so a
format works through any template and training and evaluation shape them identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from slmswap.errors import TemplateError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["TemplateShape", "shape_messages", "template_shape"]

_PROBES = ("slmswap-probe-system", "slmswap-probe-user", "slmswap-probe-assistant")


@dataclass(frozen=True)
class TemplateShape:
    """What a chat template accepts."""

    system_role: bool
    """The template renders a ``system`` message (else the system prompt is put ahead of the first user turn)."""
    content_parts: bool
    """The template reads ``content`` as a list of ``{"type": "text", "text": ...}`` parts."""


def shape_messages(messages: list[dict[str, Any]], shape: TemplateShape) -> list[dict[str, Any]]:
    """``messages`` reshaped for a template of the given shape."""
    shaped = [dict(m) for m in messages]
    if not shape.system_role and shaped and shaped[0]["role"] == "system":
        system = shaped.pop(0)["content"]
        if shaped and shaped[0]["role"] == "user":
            shaped[0]["content"] = f"{system}\n\n{shaped[0]['content']}"
        else:
            shaped.insert(0, {"role": "user", "content": system})
    if shape.content_parts:
        for message in shaped:
            if isinstance(message.get("content"), str):
                message["content"] = [{"type": "text", "text": message["content"]}]
    return shaped


def template_shape(tokenizer: PreTrainedTokenizerBase) -> TemplateShape:
    """The shape of the tokenizer's chat template (probed once per distinct template)."""
    template = tokenizer.chat_template
    if not isinstance(template, str):
        raise TemplateError("the tokenizer has no chat template")
    return _probe(template, tokenizer)


@lru_cache(maxsize=64)
def _probe(template: str, tokenizer: PreTrainedTokenizerBase) -> TemplateShape:
    messages = [
        {"role": role, "content": probe} for role, probe in zip(("system", "user", "assistant"), _PROBES, strict=True)
    ]
    for shape in (
        TemplateShape(system_role=True, content_parts=False),
        TemplateShape(system_role=True, content_parts=True),
        TemplateShape(system_role=False, content_parts=False),
        TemplateShape(system_role=False, content_parts=True),
    ):
        try:
            text = tokenizer.apply_chat_template(shape_messages(messages, shape), tokenize=False)
        except Exception:  # jinja raises anything from TemplateError to TypeError
            continue
        if isinstance(text, str) and all(probe in text for probe in _PROBES):
            return shape
    raise TemplateError(
        "the chat template renders no system/user/assistant conversation with its text intact, whether content is "
        "given as strings or as text parts, with or without a system message"
    )
