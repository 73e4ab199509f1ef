"""How a chat template wants its messages shaped, found by probing it once.

Some templates refuse a ``system`` role (Gemma 1/2), some know no ``tool`` role (Gemma 3 insists that user and
assistant alternate), and some read ``content`` as a list of typed parts (``[{"type": "text", "text": ...}]``,
as vision-language templates do), silently dropping plain strings. A :class:`TemplateShape` records all three,
and :func:`shape_messages` reshapes a format's messages accordingly, so a format works through any template and
training and evaluation shape them identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from slmswap.errors import TemplateError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["TemplateShape", "apply_template", "shape_messages", "template_shape"]

_PROBES = ("slmswap-probe-system", "slmswap-probe-user", "slmswap-probe-assistant")
_TOOL_PROBE = "slmswap-probe-tool"


@dataclass(frozen=True)
class TemplateShape:
    """What a chat template accepts."""

    system_role: bool
    """The template renders a ``system`` message (else the system prompt is put ahead of the first user turn)."""
    content_parts: bool
    """The template reads ``content`` as a list of ``{"type": "text", "text": ...}`` parts."""
    tool_role: bool = True
    """The template renders ``tool`` messages (else tool results are sent as user turns, merged with any
    neighbouring user turn)."""


def shape_messages(messages: list[dict[str, Any]], shape: TemplateShape) -> list[dict[str, Any]]:
    """``messages`` reshaped for a template of the given shape."""
    shaped = [dict(m) for m in messages]
    if not shape.system_role and shaped and shaped[0]["role"] == "system":
        system = shaped.pop(0)["content"]
        if shaped and shaped[0]["role"] == "user":
            shaped[0]["content"] = f"{system}\n\n{shaped[0]['content']}"
        else:
            shaped.insert(0, {"role": "user", "content": system})
    if not shape.tool_role:
        merged: list[dict[str, Any]] = []
        for message in shaped:
            if message["role"] == "tool":
                message = {"role": "user", "content": message["content"]}
            if merged and merged[-1]["role"] == "user" and message["role"] == "user":
                merged[-1] = {"role": "user", "content": f"{merged[-1]['content']}\n\n{message['content']}"}
            else:
                merged.append(message)
        shaped = merged
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
    for system_role, content_parts in ((True, False), (True, True), (False, False), (False, True)):
        shape = TemplateShape(system_role=system_role, content_parts=content_parts)
        if _renders_intact(tokenizer, messages, shape, _PROBES):
            with_tool = [*messages, {"role": "tool", "content": _TOOL_PROBE}, {"role": "assistant", "content": "ok"}]
            tool_role = _renders_intact(tokenizer, with_tool, shape, (*_PROBES, _TOOL_PROBE))
            return TemplateShape(system_role=system_role, content_parts=content_parts, tool_role=tool_role)
    raise TemplateError(
        "the chat template renders no system/user/assistant conversation with its text intact, whether content is "
        "given as strings or as text parts, with or without a system message"
    )


def _renders_intact(
    tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, Any]], shape: TemplateShape, probes: tuple[str, ...]
) -> bool:
    try:
        text = tokenizer.apply_chat_template(shape_messages(messages, shape), tokenize=False)
    except Exception:  # jinja raises anything from TemplateError to TypeError
        return False
    return isinstance(text, str) and all(probe in text for probe in probes)


def apply_template(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    add_generation_prompt: bool,
) -> str:
    """``tokenizer.apply_chat_template`` as text, errors raised as :class:`TemplateError`."""
    try:
        text = tokenizer.apply_chat_template(
            messages,
            tools=tools,  # type: ignore[arg-type]  # transformers types tools loosely
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
        )
    except Exception as exc:  # jinja raises anything from TemplateError to TypeError
        raise TemplateError(f"the chat template failed: {type(exc).__name__}: {exc}") from exc
    assert isinstance(text, str)
    return text
