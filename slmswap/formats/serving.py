"""What a format contributes to serving: Jinja that turns the OpenAI-style ``messages`` and ``tools`` a server
receives into the messages the format hands the chat template, and the ``response_template`` fields that turn
the format's output back into ``tool_calls`` and content.

Export (:func:`slmswap.export`) puts the Jinja in front of the model's own chat template and the fields into
the tokenizer's ``response_template``, so a server that knows nothing of slmswap renders exactly the trained
prompt and returns OpenAI ``tool_calls``. The Jinja runs in transformers' sandbox, which has ``tojson``
(``json.dumps`` with non-ASCII kept, as the formats write JSON) but no way to parse JSON: arguments that
arrive as JSON strings are written as they are.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ServingHooks",
    "calls_after_content",
    "hermes_call_fields",
    "jinja_literal",
    "listing_system_prompt",
    "text_format_preamble",
]


def jinja_literal(text: str) -> str:
    """``text`` as a Jinja string literal."""
    return json.dumps(text, ensure_ascii=False)


class ServingHooks:
    """The Jinja statements a text format provides (each emits no text; state lives in ``slmswap``, a
    ``namespace``):

    ``system``
        reads ``slmswap.system`` (the conversation's own system prompt, or ``none``) and ``tools`` (the
        request's tools, or ``none``) and sets ``slmswap.system`` to the system prompt the format writes (or
        ``none`` for no system message);
    ``assistant``
        reads ``m`` (an assistant message: ``content`` and OpenAI ``tool_calls``) and sets ``slmswap.text``;
    ``tool_result``
        reads ``m`` (a tool message) and ``slmswap.name`` (its ``name``, or ``none``: as in training, the name
        is written only when the message has one) and sets ``slmswap.text``.
    """

    def __init__(self, *, system: str, assistant: str, tool_result: str) -> None:
        self.system = system
        self.assistant = assistant
        self.tool_result = tool_result


# One call's name and arguments JSON, whichever shape the call arrives in (OpenAI's wrapped form, arguments as
# a dict or as a JSON string).
CALL_PARTS = (
    "{%- set f = c.function if c.function is defined else c -%}"
    "{%- set a = f.arguments if f.arguments is defined else {} -%}"
    "{%- set a = a if a is string else a|tojson -%}"
)


def listing_system_prompt(instructions: str, listing: str) -> str:
    """The ``system`` hook of a format that, when tools are offered, writes ``instructions`` (a ``str.format``
    template with ``{tools}``) with ``listing`` (a Jinja expression of the tool list), then the conversation's
    own system prompt after a blank line."""
    head, _, tail = instructions.replace("{{", "{").replace("}}", "}").partition("{tools}")
    return (
        "{%- if tools -%}"
        f"{{%- set block = {jinja_literal(head)} ~ {listing} ~ {jinja_literal(tail)} -%}}"
        '{%- set slmswap.system = block ~ "\\n\\n" ~ slmswap.system if slmswap.system else block -%}'
        "{%- endif -%}"
    )


def calls_after_content(call: str) -> str:
    """The ``assistant`` hook of a format that writes the turn's content, then one ``call`` (a Jinja expression
    of ``f``, the function, and ``a``, its arguments as JSON) per tool call, joined by newlines."""
    return (
        "{%- set slmswap.parts = [m.content] if m.content else [] -%}"
        "{%- for c in (m.tool_calls or []) -%}" + CALL_PARTS + "{%- set slmswap.parts = slmswap.parts + "
        f"[{call}] -%}}"
        "{%- endfor -%}"
        '{%- set slmswap.text = slmswap.parts|join("\\n") -%}'
    )


_BASE = """\
{%- set slmswap = namespace(system=none, messages=[], text="", parts=[], name=none) -%}
{%- if messages and messages[0].role == "system" -%}{%- set slmswap.system = messages[0].content -%}{%- endif -%}
@SYSTEM@
{%- if slmswap.system is not none -%}
{%- set slmswap.messages = [{"role": "system", "content": slmswap.system}] -%}
{%- endif -%}
{%- for m in messages -%}
{%- if m.role == "assistant" -%}
@ASSISTANT@
{%- set slmswap.messages = slmswap.messages + [{"role": "assistant", "content": slmswap.text}] -%}
{%- elif m.role == "tool" -%}
{%- set slmswap.name = m.name if m.name is defined and m.name else none -%}
@TOOL@
{%- set slmswap.messages = slmswap.messages + [{"role": "tool", "content": slmswap.text}] -%}
{%- elif m.role != "system" -%}
{%- set slmswap.messages = slmswap.messages + [{"role": m.role, "content": m.content}] -%}
{%- endif -%}
{%- endfor -%}
"""


def text_format_preamble(hooks: ServingHooks) -> str:
    """The statements that rebuild ``slmswap.messages`` from ``messages`` and ``tools`` as
    :meth:`~slmswap.formats.ChatFormat.chat_input` builds them from a conversation (system prompt first, every
    assistant turn's text, every tool result's text)."""
    return (
        _BASE.replace("@SYSTEM@", hooks.system)
        .replace("@ASSISTANT@", hooks.assistant)
        .replace("@TOOL@", hooks.tool_result)
    )


def hermes_call_fields(content_close: str) -> dict[str, Any]:
    """``response_template`` fields for content followed by ``<tool_call>{"name", "arguments"}</tool_call>``
    blocks; ``content_close`` is the regex that ends the turn."""
    return {
        "tool_calls": {
            "open_pattern": r"\s*<tool_call>",
            "close_pattern": r"</tool_call>\s*",
            "repeats": True,
            "content": "json",
            "transform": {"type": "function", "function": "{content}"},
        },
        "content": {"close_pattern": content_close, "content": "text"},
    }
