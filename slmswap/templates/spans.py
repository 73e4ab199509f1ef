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

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from slmswap.errors import TemplateError
from slmswap.formats._shape import apply_template, shape_messages, template_shape
from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["AssistantSpan", "RenderedConversation", "TurnSelection", "render_with_spans", "special_token_pattern"]

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


def turn_tail(tokenizer: PreTrainedTokenizerBase) -> str:
    """What the template writes after a final assistant turn's text: its end-of-turn marker(s), then whitespace
    (and, in some templates, the EOS token that closes the conversation)."""
    template = tokenizer.chat_template
    return _turn_tail(template if isinstance(template, str) else "", tokenizer)


@lru_cache(maxsize=64)
def _turn_tail(template: str, tokenizer: PreTrainedTokenizerBase) -> str:
    shape = template_shape(tokenizer)
    messages = shape_messages([{"role": "user", "content": "hi"}, {"role": "assistant", "content": _SENTINEL}], shape)
    return apply_template(tokenizer, messages, None, add_generation_prompt=False).rpartition(_SENTINEL)[2]


_SENTINEL = "slmswap-end-of-turn-probe"


def render_with_spans(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversation: Conversation,
    *,
    turns: TurnSelection = "all",
) -> RenderedConversation:
    """Render ``conversation`` and locate the trained character span of its (selected) assistant turns.

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
    tail_pieces = _pieces(turn_tail(tokenizer), special_token_pattern(tokenizer))
    spans = []
    cursor = 0
    for index, turn in pairs:
        prompt = apply_template(tokenizer, messages[:index], tools, add_generation_prompt=True)
        if not text.startswith(prompt):
            raise TemplateError(
                f"the chat template is not prefix-preserving at message {index}: the evaluation prompt "
                "(add_generation_prompt=True) is not a prefix of the training text, so training and evaluation "
                "would see different tokens (reasoning templates do this; use a training template, e.g. TRL's "
                "get_training_chat_template)"
            )
        target = fmt.render_assistant(turn)
        start = max(len(prompt), cursor)
        target_start = text.find(target, start)
        if target_start < 0:
            raise TemplateError(f"the target text of message {index} does not appear after its prompt")
        target_end = target_start + len(target)
        end_of_turn = _matching_pieces(text, target_end, tail_pieces) or None
        end = target_end + len(end_of_turn or "")
        spans.append(AssistantSpan(index, len(prompt), target_start, target_end, end, end_of_turn))
        cursor = end
    return RenderedConversation(text, tuple(spans), tuple(messages), tuple(tools) if tools else None)
