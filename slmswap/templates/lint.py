"""Template lint: small named checks on a tokenizer + format (+ sample conversations), each returning findings.

The checks catch what silently ruins a fine-tune:

* ``fake_special_tokens`` — text that looks like a special token (``<|user|>``, ``<s>``, ``[INST]``) but is not
  one in this tokenizer, so it is split into ordinary pieces (the seed project's 0 % adapter);
* ``double_bos`` — the template writes BOS and the tokenizer adds another by default;
* ``prefix_preserving`` — the evaluation prompt is not a prefix of the training text;
* ``end_of_turn`` — nothing after the assistant text teaches the model to stop;
* ``drops_tools`` — the template loses the tools or the tool calls;
* ``train_eval_boundary`` — the tokens of the evaluation prompt differ from the tokens that precede the
  assistant span in training (the first differing token is reported).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slmswap.errors import FormatError, TemplateError
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import tool_call_hint
from slmswap.rendering import apply_template
from slmswap.schema import Conversation, Message, Tool, ToolCall
from slmswap.templates.spans import RenderedConversation, render_with_spans, special_token_pattern

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["CHECKS", "Finding", "Severity", "lint_template", "sample_conversations"]

_LOOKALIKE = re.compile(
    r"<\|[^<>|\s]{1,40}\|>|<｜[^<>｜\n]{1,40}｜>|</?s>|\[/?INST\]|<(?:start|end)_of_turn>|<(?:bos|eos|pad|unk)>"
)


class Severity(str, enum.Enum):
    """How bad a finding is: an ``error`` ruins training or evaluation; a ``warning`` may."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem a check found, with how to fix it."""

    check: str
    severity: Severity
    message: str
    fix: str
    example: int | None = None
    """Index of the sample conversation it was found on, when it depends on one."""

    def __str__(self) -> str:
        where = f" (example {self.example})" if self.example is not None else ""
        return f"[{self.severity.value}] {self.check}{where}: {self.message} Fix: {self.fix}"


@dataclass(frozen=True)
class _Context:
    tokenizer: PreTrainedTokenizerBase
    fmt: ChatFormat
    conversation: Conversation
    index: int
    rendered: RenderedConversation | None
    failure: str


Check = Callable[[_Context], list[Finding]]


def fake_special_tokens(ctx: _Context) -> list[Finding]:
    """Special-token look-alikes in the rendered text that are not single tokens of this tokenizer."""
    if ctx.rendered is None:
        return []
    findings = []
    for text in sorted(set(_LOOKALIKE.findall(ctx.rendered.text))):
        pieces = ctx.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            split = ", ".join(repr(p) for p in ctx.tokenizer.convert_ids_to_tokens(pieces))
            findings.append(
                Finding(
                    "fake_special_tokens",
                    Severity.ERROR,
                    f"{text!r} looks like a special token but is not one in this tokenizer: it becomes {len(pieces)} "
                    f"ordinary tokens ({split}), so the model learns text, not structure.",
                    "render conversations through the model's own chat template (slmswap formats do); never write "
                    "role or control markers by hand, in templates or in the data",
                    ctx.index,
                )
            )
    return findings


def double_bos(ctx: _Context) -> list[Finding]:
    """The template writes BOS and tokenizing with special tokens would add a second one."""
    bos = ctx.tokenizer.bos_token
    if ctx.rendered is None or not bos or not ctx.rendered.text.startswith(str(bos)):
        return []
    ids = ctx.tokenizer(ctx.rendered.text[:200], add_special_tokens=True)["input_ids"]
    if len(ids) >= 2 and ids[0] == ids[1] == ctx.tokenizer.bos_token_id:
        return [
            Finding(
                "double_bos",
                Severity.WARNING,
                f"the template already writes {bos!r}, and tokenizing with add_special_tokens=True adds another.",
                "tokenize rendered text with add_special_tokens=False (slmswap does); check any other code that "
                "tokenizes the prompts",
            )
        ]
    return []


def prefix_preserving(ctx: _Context) -> list[Finding]:
    """The conversation could be rendered with assistant spans (prefix preservation holds)."""
    if ctx.rendered is not None or not ctx.failure:
        return []
    return [
        Finding(
            "prefix_preserving",
            Severity.ERROR,
            ctx.failure,
            "use a training variant of the template (TRL's get_training_chat_template) or a template whose "
            "generation prompt is a prefix of the rendered conversation",
            ctx.index,
        )
    ]


def end_of_turn(ctx: _Context) -> list[Finding]:
    """Every trained assistant span ends with an end-of-turn marker, preferably a single special token."""
    if ctx.rendered is None:
        return []
    findings = []
    specials = special_token_pattern(ctx.tokenizer)
    for span in ctx.rendered.spans:
        if span.end_of_turn is None:
            findings.append(
                Finding(
                    "end_of_turn",
                    Severity.ERROR,
                    "the template writes no end-of-turn marker after assistant turns: the model is never taught "
                    "to stop.",
                    "use a template that closes assistant turns with an end-of-turn token",
                    ctx.index,
                )
            )
        elif not specials.search(span.end_of_turn):
            findings.append(
                Finding(
                    "end_of_turn",
                    Severity.WARNING,
                    f"assistant turns end with {span.end_of_turn!r}, which is not a special token: generation must "
                    "stop on that string rather than on a token.",
                    "register the marker as a special token, or make sure evaluation stops on the string",
                    ctx.index,
                )
            )
    return findings[:1]


def drops_tools(ctx: _Context) -> list[Finding]:
    """Each tool name and each called tool's name appears in the rendered text."""
    if ctx.rendered is None:
        return []
    names = {tool.name for tool in ctx.conversation.tools}
    names |= {call.name for m in ctx.conversation.messages for call in m.tool_calls}
    missing = sorted(name for name in names if name not in ctx.rendered.text)
    if not missing:
        return []
    return [
        Finding(
            "drops_tools",
            Severity.ERROR,
            f"the rendered conversation never mentions {', '.join(map(repr, missing))}: the template drops tools or "
            "tool calls.",
            f"use a format that writes tools and calls as text: {tool_call_hint(as_text=True)}",
            ctx.index,
        )
    ]


def train_eval_boundary(ctx: _Context) -> list[Finding]:
    """The evaluation prompt's token ids equal the ids preceding each assistant span in training."""
    if ctx.rendered is None:
        return []
    encoding = ctx.tokenizer(ctx.rendered.text, add_special_tokens=False, return_offsets_mapping=True)
    train_ids: list[int] = encoding["input_ids"]
    starts = [start for start, _ in encoding["offset_mapping"]]
    messages = list(ctx.rendered.messages)
    tools = list(ctx.rendered.tools) if ctx.rendered.tools else None
    for span in ctx.rendered.spans:
        prompt = apply_template(ctx.tokenizer, messages[: span.message_index], tools, add_generation_prompt=True)
        prompt_ids: list[int] = ctx.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        before = train_ids[: sum(1 for start in starts if start < span.start)]
        if prompt_ids != before:
            k = next((j for j, (a, b) in enumerate(zip(prompt_ids, before, strict=False)) if a != b), None)
            k = min(len(prompt_ids), len(before)) if k is None else k

            def token(ids: list[int], at: int) -> str:
                return repr(ctx.tokenizer.convert_ids_to_tokens(ids[at])) if at < len(ids) else "<end>"

            return [
                Finding(
                    "train_eval_boundary",
                    Severity.ERROR,
                    f"before assistant message {span.message_index}, evaluation feeds {len(prompt_ids)} prompt tokens "
                    f"but training has {len(before)}; first difference at token {k}: evaluation {token(prompt_ids, k)}"
                    f" vs training {token(before, k)}.",
                    "make the generation prompt end on a token boundary (e.g. end it with a newline the template "
                    "also writes in training)",
                    ctx.index,
                )
            ]
    return []


CHECKS: dict[str, Check] = {
    "fake_special_tokens": fake_special_tokens,
    "double_bos": double_bos,
    "prefix_preserving": prefix_preserving,
    "end_of_turn": end_of_turn,
    "drops_tools": drops_tools,
    "train_eval_boundary": train_eval_boundary,
}
"""Every check, by name."""

_WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def sample_conversations() -> list[Conversation]:
    """Small conversations the lint renders when the caller gives none: a tool call, its result, a JSON answer and
    a second user turn (which reasoning templates render differently), and a JSON-only exchange."""
    call = ToolCall(name="get_weather", arguments={"city": "Paris"})
    return [
        Conversation(
            messages=(
                Message.system("You are a helpful assistant."),
                Message.user("What is the weather in Paris?"),
                Message.assistant(tool_calls=[call]),
                Message.tool('{"temperature": 21}', name="get_weather"),
                Message.assistant('{"city": "Paris", "temperature": 21}'),
                Message.user("Thanks!"),
                Message.assistant("You're welcome."),
            ),
            tools=(_WEATHER,),
        ),
        Conversation(messages=(Message.user("Reply with a JSON object."), Message.assistant('{"ok": true}'))),
    ]


def lint_template(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversations: Sequence[Conversation] | None = None,
    *,
    checks: Sequence[str] | None = None,
) -> list[Finding]:
    """Run the checks on ``conversations`` (default: :func:`sample_conversations`), de-duplicated by message."""
    selected = [CHECKS[name] for name in (checks or CHECKS)]
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for index, conversation in enumerate(conversations if conversations is not None else sample_conversations()):
        try:
            fmt.check(conversation)
        except FormatError:
            continue  # the format cannot write this sample; nothing to lint
        try:
            rendered, failure = render_with_spans(tokenizer, fmt, conversation), ""
        except TemplateError as exc:
            rendered, failure = None, str(exc)
        context = _Context(tokenizer, fmt, conversation, index, rendered, failure)
        for check in selected:
            for finding in check(context):
                if (finding.check, finding.message) not in seen:
                    seen.add((finding.check, finding.message))
                    findings.append(finding)
    return findings
