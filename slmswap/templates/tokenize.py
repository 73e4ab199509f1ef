"""Tokenizing a conversation for training: ``input_ids`` and ``labels`` (-100 outside assistant targets).

The text is rendered once through the format and the tokenizer's own template, tokenized once (without adding
special tokens: the template already wrote them) with character offsets, and a token is trained when it starts
inside an assistant span (see :mod:`slmswap.templates.spans`), so the role header stays masked while the
content and the end-of-turn token are trained.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from slmswap.errors import DataError, FormatError, TemplateError
from slmswap.formats.base import ChatFormat
from slmswap.rendering import apply_template
from slmswap.schema import Conversation
from slmswap.templates.spans import TurnSelection, control_token_text, render_with_spans

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "IGNORE_INDEX",
    "DropReason",
    "TokenizeOptions",
    "TokenizedExample",
    "label_encoding",
    "raise_if_dropped",
    "tokenize_conversation",
    "tokenize_conversations",
]

IGNORE_INDEX = -100
"""The label of a token that is not trained."""


class DropReason(str, enum.Enum):
    """Why an example is not passed to training."""

    NO_TRAINABLE_TOKENS = "no_trainable_tokens"
    """No assistant turn, or nothing of it left to learn."""
    TARGET_TRUNCATED = "target_truncated"
    """A trained token lies beyond ``max_length``."""
    FORMAT_CANNOT_EXPRESS = "format_cannot_express"
    """The chat format cannot write this conversation (e.g. tool calls under ``structured``)."""
    TEMPLATE_FAILED = "template_failed"
    """The chat template raised, or is not prefix-preserving for this conversation."""
    CONTROL_TOKEN_TEXT = "control_token_text"
    """The conversation's own text holds a special token's text, which would be trained as the real control
    token (a forged end of turn or system turn)."""


class TokenizeOptions(BaseModel):
    """How conversations become training examples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    turns: TurnSelection = Field(default="all", description="Train every assistant turn, or only the last one.")
    max_length: int | None = Field(
        default=None,
        gt=0,
        description="Longest example in tokens. A longer example loses its untrained tail; one whose trained "
        "tokens reach past the limit is dropped (reason target_truncated), never silently cut.",
    )
    train_tool_results: bool = Field(
        default=False, description="Also train the tool-result turns (normally they are the environment's words)."
    )


@dataclass(frozen=True)
class TokenizedExample:
    """One training example, or why there is none."""

    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    """Character range of each token in ``text`` (kept by :func:`tokenize_conversation`, for inspection)."""
    text: str = ""
    dropped: DropReason | None = None
    detail: str = ""
    truncated: bool = False
    """The untrained tail was cut to fit ``max_length``."""
    trained_tokens: int = 0
    """How many tokens carry a label."""


def tokenize_conversation(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversation: Conversation,
    options: TokenizeOptions | None = None,
) -> TokenizedExample:
    """Render, tokenize and label one conversation (token offsets included, for inspection); a dropped example
    says why (see :class:`DropReason`)."""
    return tokenize_conversations(tokenizer, fmt, [conversation], options, with_offsets=True)[0]


def tokenize_conversations(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversations: Sequence[Conversation],
    options: TokenizeOptions | None = None,
    *,
    exact: bool = True,
    with_offsets: bool = False,
) -> list[TokenizedExample]:
    """:func:`tokenize_conversation` for many conversations, with one batched tokenizer call.

    ``exact=False`` locates the spans with the fast method of :func:`~slmswap.templates.render_with_spans`;
    ``with_offsets`` keeps each token's character offsets in the examples.
    """
    if not tokenizer.is_fast:
        raise TemplateError("slmswap needs a fast (Rust) tokenizer to map characters to tokens")
    options = options or TokenizeOptions()
    rendered: list[tuple[str, list[tuple[int, int]]] | TokenizedExample] = [
        _render(tokenizer, fmt, conversation, options, exact) for conversation in conversations
    ]
    texts = [item[0] for item in rendered if isinstance(item, tuple)]
    encodings = iter(tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False) if texts else [])
    results: list[TokenizedExample] = []
    for item in rendered:
        if isinstance(item, TokenizedExample):
            results.append(item)
            continue
        text, ranges = item
        results.append(label_encoding(next(encodings), text, ranges, options, with_offsets=with_offsets))
    return results


def _render(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversation: Conversation,
    options: TokenizeOptions,
    exact: bool,
) -> tuple[str, list[tuple[int, int]]] | TokenizedExample:
    """The rendered text and its sorted trained character ranges, or the dropped example."""
    forged = control_token_text(tokenizer, conversation)
    if forged is not None:
        return TokenizedExample(dropped=DropReason.CONTROL_TOKEN_TEXT, detail=forged)
    try:
        rendered = render_with_spans(tokenizer, fmt, conversation, turns=options.turns, exact=exact)
        ranges = [(span.start, span.end) for span in rendered.spans]
        if options.train_tool_results:
            ranges += _tool_result_ranges(tokenizer, list(rendered.messages), rendered.tools)
    except FormatError as exc:
        return TokenizedExample(dropped=DropReason.FORMAT_CANNOT_EXPRESS, detail=str(exc))
    except TemplateError as exc:
        return TokenizedExample(dropped=DropReason.TEMPLATE_FAILED, detail=str(exc))
    return rendered.text, sorted(ranges)


def _trained_tokens(encoding: Any, ranges: list[tuple[int, int]]) -> list[int]:
    """Indices of the tokens whose first character lies in one of the character ``ranges``."""
    trained: list[int] = []
    for low, high in ranges:
        first = next((t for t in map(encoding.char_to_token, range(low, high)) if t is not None), None)
        last = next((t for t in map(encoding.char_to_token, range(high - 1, low - 1, -1)) if t is not None), None)
        if first is None or last is None:
            continue
        if encoding.token_to_chars(first)[0] < low:  # starts before the range: it belongs to the prompt
            first += 1
        trained.extend(range(first, last + 1))
    return trained


def label_encoding(
    encoding: Any,
    text: str,
    ranges: list[tuple[int, int]],
    options: TokenizeOptions,
    *,
    with_offsets: bool = False,
) -> TokenizedExample:
    """Labels for the tokens of ``encoding`` (a ``tokenizers.Encoding`` of ``text``) whose first character lies
    in one of the sorted character ``ranges``; the rest get :data:`IGNORE_INDEX`."""
    input_ids: list[int] = encoding.ids
    trained = _trained_tokens(encoding, ranges)
    if not trained:
        return TokenizedExample(text=text, dropped=DropReason.NO_TRAINABLE_TOKENS, detail="no assistant target")
    labels = [IGNORE_INDEX] * len(input_ids)
    for j in trained:
        labels[j] = input_ids[j]
    offsets: list[tuple[int, int]] = list(encoding.offsets) if with_offsets else []
    truncated = False
    if options.max_length is not None and len(input_ids) > options.max_length:
        if trained[-1] >= options.max_length:
            detail = (
                f"{len(input_ids)} tokens; the target reaches token {trained[-1] + 1} > max_length {options.max_length}"
            )
            return TokenizedExample(text=text, dropped=DropReason.TARGET_TRUNCATED, detail=detail)
        input_ids, labels, offsets = (
            input_ids[: options.max_length],
            labels[: options.max_length],
            offsets[: options.max_length],
        )
        truncated = True
    return TokenizedExample(input_ids, labels, offsets, text, truncated=truncated, trained_tokens=len(trained))


def _tool_result_ranges(
    tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, Any]], tools: tuple[dict[str, Any], ...] | None
) -> list[tuple[int, int]]:
    listed = list(tools) if tools else None
    ranges = []
    for index, message in enumerate(messages):
        if message["role"] != "tool":
            continue
        before = apply_template(tokenizer, messages[:index], listed, add_generation_prompt=False)
        after = apply_template(tokenizer, messages[: index + 1], listed, add_generation_prompt=False)
        if not after.startswith(before):
            raise TemplateError(f"the chat template is not prefix-preserving at tool result {index}")
        ranges.append((len(before), len(after)))
    return ranges


def raise_if_dropped(example: TokenizedExample, name: str) -> None:
    """Raise a :class:`DataError` naming the example when it was dropped (``strict`` preparation)."""
    if example.dropped is not None:
        raise DataError(f"{example.dropped.value}: {example.detail}", source=name, hint=_HINTS[example.dropped])


_HINTS: dict[DropReason, str] = {
    DropReason.NO_TRAINABLE_TOKENS: "give the conversation an assistant turn to learn, or remove it",
    DropReason.TARGET_TRUNCATED: "raise max_length or shorten the conversation",
    DropReason.FORMAT_CANNOT_EXPRESS: "choose a format that can write this conversation",
    DropReason.TEMPLATE_FAILED: "fix the chat template or the conversation (see the message)",
}
