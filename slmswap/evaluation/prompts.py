"""The prompts an evaluation asks: for each conversation, everything before its last assistant turn, rendered
exactly as in training. :func:`~slmswap.evaluate` and the training callback both build them here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slmswap.evaluation.backend import Prompt
from slmswap.formats.base import ChatFormat, output_grammar
from slmswap.schema import Conversation, Message
from slmswap.templates.spans import control_token_text

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ANSWER_MARGIN", "EvalItem", "answer_budget", "eval_items", "prompt_hash"]

ANSWER_MARGIN = 16
"""Tokens :func:`answer_budget` adds to the longest reference answer."""


@dataclass(frozen=True)
class EvalItem:
    """One example to evaluate: its prompt, and the assistant turn it is scored against."""

    id: str
    """The conversation's id, else its position in the data."""
    prompt: Prompt
    conversation: Conversation
    reference: Message
    """The conversation's last assistant turn."""
    prompt_hash: str
    """Of the format, its version and the rendered prompt (keys the records file)."""


def prompt_hash(fmt: ChatFormat, text: str) -> str:
    """The short hash that keys a prompt rendered by ``fmt`` in a records file."""
    return hashlib.sha256(f"{fmt.name}/{fmt.version}\n{text}".encode()).hexdigest()[:16]


def eval_items(
    conversations: Sequence[Conversation],
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    *,
    constrained: bool = False,
) -> tuple[list[EvalItem], dict[str, int]]:
    """The items of ``conversations`` to evaluate, and how many were skipped, by reason: ``no_assistant_turn``,
    and ``control_token_text`` (the conversation's text holds a special token's text, which the prompt would
    turn into the real control token: see :func:`~slmswap.templates.spans.control_token_text`).

    With ``constrained``, each prompt carries the format's grammar for the conversation's tools
    (:meth:`~slmswap.ChatFormat.output_grammar`; :class:`~slmswap.errors.FormatError` for a format without one).
    """
    items: list[EvalItem] = []
    skipped: dict[str, int] = {}
    for index, conversation in enumerate(conversations):
        positions = conversation.assistant_indices()
        reason = "no_assistant_turn" if not positions else None
        if reason is None and control_token_text(tokenizer, conversation) is not None:
            reason = "control_token_text"
        if reason is not None:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        last = positions[-1]
        before = Conversation(messages=conversation.messages[:last], tools=conversation.tools)
        text = fmt.render(tokenizer, before, add_generation_prompt=True)
        items.append(
            EvalItem(
                id=conversation.id or str(index),
                prompt=Prompt(
                    text=text,
                    chat=fmt.chat_input(before),
                    conversation=before,
                    grammar=output_grammar(fmt, conversation.tools) if constrained else None,
                ),
                conversation=conversation,
                reference=conversation.messages[last],
                prompt_hash=prompt_hash(fmt, text),
            )
        )
    return items, skipped


def answer_budget(
    items: Sequence[EvalItem], tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, margin: int = ANSWER_MARGIN
) -> int:
    """A ``max_new_tokens`` for ``items``: the longest reference answer as ``fmt`` renders it, in tokens, plus
    the end-of-turn token and ``margin``. An answer longer than every reference by more than that cannot match
    one, so generating further only costs time (a base model that never stops runs to the cap on every prompt)."""
    texts = fmt.render_assistants([item.reference for item in items])
    longest = max((len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts), default=0)
    return longest + 1 + margin
