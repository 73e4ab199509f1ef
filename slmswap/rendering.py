"""Rendering messages through a tokenizer's own chat template, shaped the way that template wants them.

This is the low floor every layer renders through (formats, the template engine, the doctor, export): it
depends on nothing in slmswap but the errors.

Some templates refuse a ``system`` role (Gemma 1/2), some know no ``tool`` role (Gemma 3 insists that user and
assistant alternate), and some read ``content`` as a list of typed parts (``[{"type": "text", "text": ...}]``,
as vision-language templates do), silently dropping plain strings. A :class:`TemplateShape` records all three,
and :func:`shape_messages` reshapes a format's messages accordingly, so a format works through any template and
training and evaluation shape them identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from slmswap.errors import TemplateError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["TemplateShape", "apply_template", "render_batch", "shape_messages", "template_shape"]

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


_PLAIN = TemplateShape(system_role=True, content_parts=False, tool_role=True)


def shape_messages(messages: list[dict[str, Any]], shape: TemplateShape) -> list[dict[str, Any]]:
    """``messages`` reshaped for a template of the given shape (the same list when nothing needs changing)."""
    if shape == _PLAIN:
        return messages
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


def render_batch(
    tokenizer: PreTrainedTokenizerBase,
    conversations: Sequence[Sequence[dict[str, Any]]],
    tools: list[dict[str, Any]] | None,
    *,
    add_generation_prompt: bool,
) -> list[str]:
    """Several message lists rendered with the same tools, each exactly as
    ``tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)`` renders it.

    Formats hand over plain JSON data only (strings, numbers, booleans, lists, dicts), which is what
    ``apply_chat_template`` reduces its inputs to before rendering; so this renders with transformers' compiled
    (sandboxed, cached) template directly, and saves that per-call work, which dominates for short
    conversations. Should that private entry point move in a later transformers, the public renderer is used.
    """
    cleaned = [[{k: v for k, v in m.items() if v is not None} for m in messages] for messages in conversations]
    try:
        template = tokenizer.get_chat_template(None, tools)
        variables: dict[str, Any] = {**tokenizer.special_tokens_map, "tools": tools, "documents": None}
        compiled = _compiled(template)
        if compiled is not None:
            return [
                compiled.render(messages=messages, add_generation_prompt=add_generation_prompt, **variables)
                for messages in cleaned
            ]
        from transformers.utils.chat_template_utils import render_jinja_template

        special_tokens: dict[str, Any] = dict(tokenizer.special_tokens_map)
        result: Any = render_jinja_template(  # annotated "-> str", returns (texts, generation indices)
            conversations=cleaned,
            tools=tools,  # type: ignore[arg-type]  # transformers types tools loosely
            chat_template=template,
            add_generation_prompt=add_generation_prompt,
            **special_tokens,
        )
    except Exception as exc:  # jinja raises anything from TemplateError to TypeError
        raise TemplateError(f"the chat template failed: {type(exc).__name__}: {exc}") from exc
    return list(result[0])


def _compiled(template: str) -> Any:
    """transformers' compiled template (its own sandboxed environment and cache), or ``None`` if unavailable."""
    try:
        from transformers.utils.chat_template_utils import _compile_jinja_template
    except ImportError:  # pragma: no cover - depends on the transformers release
        return None
    return _compile_jinja_template(template)


def apply_template(
    tokenizer: PreTrainedTokenizerBase,
    messages: Sequence[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    add_generation_prompt: bool,
) -> str:
    """One message list rendered as ``tokenizer.apply_chat_template(..., tokenize=False)`` renders it."""
    return render_batch(tokenizer, [messages], tools, add_generation_prompt=add_generation_prompt)[0]
