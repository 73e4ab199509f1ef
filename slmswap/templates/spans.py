"""Rendering a conversation once and finding, for ANY chat template, the characters each assistant turn trains.

The span of assistant turn *i* starts where the evaluation prompt ends, i.e. after
``apply_chat_template(messages[:i], add_generation_prompt=True)``: everything after it is what the model must
produce (a template-written header such as an empty ``<think></think>`` block, the format's target text) up to
and including the template's end-of-turn marker, read off what the template writes after a final assistant turn
(``<|im_end|>``, ``<|eot_id|>``, ``<|END_RESPONSE|><|END_OF_TURN_TOKEN|>``, or a plain-text marker such as
``<end_of_utterance>``). Whitespace after the marker (the newline before the next turn) is not the model's to
produce and is not trained.

This needs one render of the whole conversation plus one render of each assistant turn's prompt; the template
must be *prefix-preserving* (each prompt a prefix of the whole text), which is checked, not assumed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from slmswap.errors import TemplateError
from slmswap.formats.base import ChatFormat
from slmswap.rendering import apply_template, render_batch, shape_messages, template_shape
from slmswap.schema import Conversation

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "AssistantSpan",
    "RenderedConversation",
    "TemplateLayout",
    "TurnSelection",
    "control_token_text",
    "render_with_spans",
    "special_token_pattern",
    "template_layout",
    "template_sha256",
]

TurnSelection = Literal["all", "last"]
"""Which assistant turns are trained: every one, or only the last."""


@dataclass(frozen=True)
class AssistantSpan:
    """Character ranges of one assistant turn in the rendered text."""

    message_index: int
    """Index of the turn in the rendered message list."""
    start: int
    """Where the evaluation prompt ends: the first character the model must produce."""
    target_start: int
    """Where the format's target text begins (after any template-written header)."""
    target_end: int
    """Where the format's target text ends."""
    end: int
    """End of the trained range: past the end-of-turn token, or ``target_end`` when the template writes none."""
    end_of_turn: str | None
    """The end-of-turn marker the template wrote after the target (trained with it), if any."""


@dataclass(frozen=True)
class RenderedConversation:
    """A conversation rendered through its format and the tokenizer's template, with its assistant spans."""

    text: str
    spans: tuple[AssistantSpan, ...]
    messages: tuple[dict[str, Any], ...]
    """The shaped messages handed to the template."""
    tools: tuple[dict[str, Any], ...] | None


def special_token_pattern(tokenizer: PreTrainedTokenizerBase) -> re.Pattern[str]:
    """A regex matching any special or added token of ``tokenizer`` (longest first)."""
    return _special_pattern(tuple(sorted(_special_tokens(tokenizer), key=len, reverse=True)))


def control_token_text(tokenizer: PreTrainedTokenizerBase, conversation: Conversation) -> str | None:
    """Where ``conversation``'s own text (a message, a call's arguments, a tool's spec) holds the text of one of
    the tokenizer's special tokens, which the rendered prompt would turn into the real control token (a
    forged ``<|im_end|>`` ending a turn early, a forged system turn); ``None`` when it holds none."""
    pattern = special_token_pattern(tokenizer)
    pieces = [(f"message {i} ({m.role})", m.content or "") for i, m in enumerate(conversation.messages)]
    pieces += [
        (f"message {i} call {call.name!r}", json.dumps(call.arguments, ensure_ascii=False))
        for i, m in enumerate(conversation.messages)
        for call in m.tool_calls
    ]
    pieces += [(f"tool {tool.name!r}", json.dumps(tool.to_openai(), ensure_ascii=False)) for tool in conversation.tools]
    for where, text in pieces:
        found = pattern.search(text)
        if found:
            return f"{where} holds the control-token text {found.group()!r}"
    return None


def _special_tokens(tokenizer: PreTrainedTokenizerBase) -> set[str]:
    tokens = {str(t) for t in tokenizer.all_special_tokens}
    tokens.update(str(t.content) for t in tokenizer.added_tokens_decoder.values() if t.special)
    return {t for t in tokens if t}


@lru_cache(maxsize=64)
def _special_pattern(tokens: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in tokens) if tokens else r"(?!x)x")


def _pieces(tail: str, specials: re.Pattern[str]) -> tuple[str, ...]:
    """``tail`` split into special tokens, whitespace runs and words, the units an end-of-turn marker is made of."""
    pieces: list[str] = []
    cursor = 0
    for match in specials.finditer(tail):
        pieces += re.findall(r"\s+|\S+", tail[cursor : match.start()])
        pieces.append(match.group())
        cursor = match.end()
    pieces += re.findall(r"\s+|\S+", tail[cursor:])
    return tuple(pieces)


def _matching_pieces(text: str, start: int, pieces: tuple[str, ...]) -> str:
    """The longest run of whole ``pieces`` that ``text`` repeats at ``start``, trailing whitespace excluded."""
    matched = ""
    for piece in pieces:
        if not text.startswith(piece, start + len(matched)):
            break
        matched += piece
    return matched.rstrip()


@dataclass(frozen=True)
class TemplateLayout:
    """What a chat template writes around an assistant turn, read once off a probe conversation."""

    generation_prompt: str
    """What ``add_generation_prompt=True`` appends after a user turn (e.g. ``<|im_start|>assistant\\n``)."""
    header: str
    """What the template writes between that and the assistant's text in a finished turn (e.g. an empty
    ``<think></think>`` block), which the model must produce."""
    tail: str
    """What it writes after a final assistant turn's text: the end-of-turn marker(s), then whitespace (and, in
    some templates, the EOS token that closes the conversation)."""
    tail_pieces: tuple[str, ...] = ()
    """``tail`` split into special tokens, whitespace runs and words: an end-of-turn marker is a run of them."""


def template_sha256(tokenizer: PreTrainedTokenizerBase) -> str:
    """SHA-256 of the tokenizer's chat template text: what a manifest and an evaluation record of it."""
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    return hashlib.sha256(template.encode()).hexdigest()


def template_layout(tokenizer: PreTrainedTokenizerBase) -> TemplateLayout:
    """The :class:`TemplateLayout` of the tokenizer's chat template (probed once per distinct template)."""
    template = tokenizer.chat_template
    return _layout(template if isinstance(template, str) else "", tokenizer)


@lru_cache(maxsize=64)
def _layout(template: str, tokenizer: PreTrainedTokenizerBase) -> TemplateLayout:
    shape = template_shape(tokenizer)
    user = shape_messages([{"role": "user", "content": "hi"}], shape)
    turn = shape_messages([{"role": "user", "content": "hi"}, {"role": "assistant", "content": _SENTINEL}], shape)
    before = apply_template(tokenizer, user, None, add_generation_prompt=False)
    prompt = apply_template(tokenizer, user, None, add_generation_prompt=True)
    finished = apply_template(tokenizer, turn, None, add_generation_prompt=False)
    header, _, tail = finished[len(prompt) :].partition(_SENTINEL) if finished.startswith(prompt) else ("", "", "")
    if not tail:
        tail = finished.rpartition(_SENTINEL)[2]
    generation = prompt[len(before) :] if prompt.startswith(before) else ""
    pieces = _pieces(tail, special_token_pattern(tokenizer))
    return TemplateLayout(generation_prompt=generation, header=header, tail=tail, tail_pieces=pieces)


_SENTINEL = "slmswap-end-of-turn-probe"


def render_with_spans(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversation: Conversation,
    *,
    turns: TurnSelection = "all",
    exact: bool = True,
) -> RenderedConversation:
    """Render ``conversation`` and locate the trained character span of its (selected) assistant turns.

    With ``exact=True`` (the default) each turn's evaluation prompt is rendered and checked to be a prefix of
    the training text. With ``exact=False`` the spans are read off the single render of the conversation from
    the template's :class:`TemplateLayout` (each assistant turn opens with the generation prompt and header and
    ends at the end-of-turn marker), falling back to the exact method whenever that reading is ambiguous;
    :func:`~slmswap.templates.prepare_dataset` checks the two agree on a sample of every dataset before
    trusting the fast one.

    Raises:
        TemplateError: The template is not prefix-preserving, or a turn's target text is not where the
            template should have written it.
    """
    chat = fmt.chat_input(conversation)
    messages = shape_messages(chat.messages, template_shape(tokenizer))
    tools = chat.tools
    text = apply_template(tokenizer, messages, tools, add_generation_prompt=False)
    assistant_at = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    turns_of = [conversation.messages[i] for i in conversation.assistant_indices()]
    pairs = list(zip(assistant_at, turns_of, strict=True))
    if turns == "last":
        pairs = pairs[-1:]
    layout = template_layout(tokenizer)
    tail_pieces = layout.tail_pieces
    indices = [index for index, _ in pairs]
    bounds = None if exact else _bounds_from_layout(text, len(assistant_at), len(pairs), layout, tail_pieces)
    if bounds is None or not fmt.target_from_template:
        targets = fmt.render_assistants([turn for _, turn in pairs])
        if bounds is not None:
            bounds = _check_targets(text, bounds, targets)
        if bounds is None:
            starts = _starts_from_prompts(tokenizer, text, messages, tools, indices)
            bounds = _find_targets(text, indices, starts, targets)
    spans = []
    for (index, turn), (start, target_start, target_end) in zip(pairs, bounds, strict=True):
        if turn.weight == 0:
            continue  # OpenAI's weight 0: in the context, not trained
        end_of_turn = _matching_pieces(text, target_end, tail_pieces) or None
        end = target_end + len(end_of_turn or "")
        spans.append(AssistantSpan(index, start, target_start, target_end, end, end_of_turn))
    return RenderedConversation(text, tuple(spans), tuple(messages), tuple(tools) if tools else None)


_Bounds = list[tuple[int, int, int]]
"""Per assistant turn: span start, target start, target end."""


def _find_targets(text: str, indices: list[int], starts: list[int], targets: list[str]) -> _Bounds:
    bounds = []
    cursor = 0
    for index, start, target in zip(indices, starts, targets, strict=True):
        target_start = text.find(target, max(start, cursor))
        if target_start < 0 and target.strip() and target.strip() != target:
            # Templates that trim message content (Llama 3.x, Gemma, Cohere, Qwen 3, GLM) render the text
            # without its surrounding whitespace: train what the template renders.
            target = target.strip()
            target_start = text.find(target, max(start, cursor))
        if target_start < 0:
            raise TemplateError(f"the target text of message {index} does not appear after its prompt")
        cursor = target_start + len(target)
        bounds.append((start, target_start, cursor))
    return bounds


def _check_targets(text: str, bounds: _Bounds, targets: list[str]) -> _Bounds | None:
    """The layout's bounds if each target sits exactly where the layout put it, else ``None``."""
    for (_, target_start, target_end), target in zip(bounds, targets, strict=True):
        if text[target_start:target_end] != target:
            return None
    return bounds


def _bounds_from_layout(
    text: str, assistants: int, selected: int, layout: TemplateLayout, tail_pieces: tuple[str, ...]
) -> _Bounds | None:
    """Bounds read off the rendered text: every assistant turn opens with the generation prompt and header
    and its text ends where the end-of-turn marker begins. ``None`` whenever that reading is ambiguous."""
    lead = layout.generation_prompt + layout.header
    marker = next((piece for piece in tail_pieces if piece.strip()), "")
    if not layout.generation_prompt or not marker:
        return None
    opens = []
    at = text.find(lead)
    while at >= 0:
        opens.append(at)
        at = text.find(lead, at + len(lead))
    if len(opens) != assistants:
        return None
    bounds = []
    for at in opens[assistants - selected :]:
        target_start = at + len(lead)
        target_end = text.find(marker, target_start)
        if target_end < 0:
            return None
        bounds.append((at + len(layout.generation_prompt), target_start, target_end))
    return bounds


def _starts_from_prompts(
    tokenizer: PreTrainedTokenizerBase,
    text: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    indices: list[int],
) -> list[int]:
    prompts = render_batch(tokenizer, [messages[:index] for index in indices], tools, add_generation_prompt=True)
    for index, prompt in zip(indices, prompts, strict=True):
        if not text.startswith(prompt):
            raise TemplateError(
                f"the chat template is not prefix-preserving at message {index}: the evaluation prompt "
                "(add_generation_prompt=True) is not a prefix of the training text, so training and evaluation "
                "would see different tokens (reasoning templates do this; use a training template, e.g. TRL's "
                "get_training_chat_template)"
            )
    return [len(prompt) for prompt in prompts]
