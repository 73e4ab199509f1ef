"""The exported chat template (the trained format baked in front of the model's own template) and the
``response_template`` that reads the format's output back as OpenAI ``tool_calls``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from slmswap.errors import FormatError
from slmswap.evaluation.generation import stop_markers
from slmswap.formats.base import ChatFormat
from slmswap.rendering import TemplateShape, apply_template, template_shape
from slmswap.serving.readable import guarded_response_template

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["baked_chat_template", "generation_prompt", "response_template"]

_HEADER = "{#- slmswap: the trained format {name} v{version}, baked in front of the model's own chat template. -#}"

_NO_SYSTEM_ROLE = """\
{%- if slmswap.messages and slmswap.messages[0].role == "system" -%}
{%- set system = slmswap.messages[0].content -%}
{%- set rest = slmswap.messages[1:] -%}
{%- if rest and rest[0].role == "user" -%}
{%- set slmswap.messages = [{"role": "user", "content": system ~ "\\n\\n" ~ rest[0].content}] + rest[1:] -%}
{%- else -%}
{%- set slmswap.messages = [{"role": "user", "content": system}] + rest -%}
{%- endif -%}
{%- endif -%}
"""

_NO_TOOL_ROLE = """\
{%- set slmswap.merged = [] -%}
{%- for m in slmswap.messages -%}
{%- set mm = {"role": "user", "content": m.content} if m.role == "tool" else m -%}
{%- if slmswap.merged and slmswap.merged[-1].role == "user" and mm.role == "user" -%}
{%- set joined = {"role": "user", "content": slmswap.merged[-1].content ~ "\\n\\n" ~ mm.content} -%}
{%- set slmswap.merged = slmswap.merged[:-1] + [joined] -%}
{%- else -%}
{%- set slmswap.merged = slmswap.merged + [mm] -%}
{%- endif -%}
{%- endfor -%}
{%- set slmswap.messages = slmswap.merged -%}
"""

_CONTENT_PARTS = """\
{%- set slmswap.parted = [] -%}
{%- for m in slmswap.messages -%}
{%- if m.content is string -%}
{%- set slmswap.parted = slmswap.parted + [{"role": m.role, "content": [{"type": "text", "text": m.content}]}] -%}
{%- else -%}
{%- set slmswap.parted = slmswap.parted + [m] -%}
{%- endif -%}
{%- endfor -%}
{%- set slmswap.messages = slmswap.parted -%}
"""


def _shape_jinja(shape: TemplateShape) -> str:
    """:func:`~slmswap.rendering.shape_messages` in Jinja, for a template of this shape."""
    parts = []
    if not shape.system_role:
        parts.append(_NO_SYSTEM_ROLE)
    if not shape.tool_role:
        parts.append(_NO_TOOL_ROLE)
    if shape.content_parts:
        parts.append(_CONTENT_PARTS)
    return "".join(parts)


def baked_chat_template(fmt: ChatFormat, tokenizer: PreTrainedTokenizerBase) -> str:
    """A chat template that renders OpenAI-style ``messages`` and ``tools`` exactly as ``fmt`` plus the
    tokenizer's own template render the same conversation in slmswap.

    Raises:
        FormatError: The format does not provide the Jinja export needs (:meth:`ChatFormat.serving_hooks`).
    """
    original = tokenizer.chat_template
    if not isinstance(original, str):
        raise FormatError("the tokenizer has no (single) chat template to export")
    preamble = fmt.serving_preamble()
    if preamble is None:
        raise FormatError(
            f"format {fmt.name!r} cannot be exported: it provides no serving_hooks() (the Jinja that writes its "
            "system prompt, assistant turns and tool results from OpenAI messages) and no serving_preamble()"
        )
    if fmt.response_fields(".*") is None and _own_response_template(fmt) is None:
        raise FormatError(
            f"format {fmt.name!r} cannot be exported: it provides no response_fields() (how a server reads its "
            "output back into tool_calls)"
        )
    if not preamble:  # the template renders messages and tools itself
        return original
    header = _HEADER.replace("{name}", fmt.name).replace("{version}", fmt.version)
    shape = _shape_jinja(template_shape(tokenizer))
    tools = "" if fmt.serving_tools() else "{%- set tools = none -%}"
    # The last statement keeps the original template's first character: no "-" strips it.
    return f"{header}\n{preamble}{shape}{tools}{{%- set messages = slmswap.messages %}}{original}"


def generation_prompt(tokenizer: PreTrainedTokenizerBase) -> str:
    """What the template appends for ``add_generation_prompt=True`` (``"<|im_start|>assistant\\n"``)."""
    messages = [{"role": "user", "content": "slmswap-probe"}]
    with_prompt = apply_template(tokenizer, messages, None, add_generation_prompt=True)
    without = apply_template(tokenizer, messages, None, add_generation_prompt=False)
    if not with_prompt.startswith(without) or with_prompt == without:
        raise FormatError("the chat template's generation prompt cannot be isolated; export needs it")
    return with_prompt[len(without) :]


def _own_response_template(fmt: ChatFormat) -> Any:
    return getattr(fmt, "response_template", None)


def response_template(fmt: ChatFormat, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """The ``response_template`` (transformers' declarative response parser) for ``fmt``'s output after the
    tokenizer's generation prompt: content up to the end-of-turn marker, and the format's tool calls; guarded
    (:func:`~slmswap.serving.readable.guarded_response_template`) so that a generation whose calls are not
    well-formed reads back as content instead of failing."""
    own = _own_response_template(fmt)
    if own is not None:
        return guarded_response_template(dict(own))
    markers = stop_markers(tokenizer)
    close = r"\s*(?:" + "|".join(re.escape(marker) for marker in markers) + r")\s*" if markers else r"\s*$"
    fields = fmt.response_fields(close)
    if fields is None:
        raise FormatError(f"format {fmt.name!r} provides no response_fields(); it cannot be exported")
    template = {"defaults": {"role": "assistant"}, "start_anchor": generation_prompt(tokenizer), "fields": fields}
    return guarded_response_template(template)
