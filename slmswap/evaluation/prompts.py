"""The prompts an evaluation asks: for each conversation, everything before its last assistant turn, rendered
exactly as in training. :func:`~slmswap.evaluate` and the training callback both build them here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slmswap.evaluation.backend import Prompt
from slmswap.formats.base import ChatFormat
from slmswap.schema import Conversation, Message

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["EvalItem", "eval_items", "prompt_hash"]


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
    conversations: Sequence[Conversation], tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat
) -> tuple[list[EvalItem], int]:
    """The items of ``conversations`` that have an assistant turn, and how many had none (skipped)."""
    items: list[EvalItem] = []
    skipped = 0
    for index, conversation in enumerate(conversations):
        positions = conversation.assistant_indices()
        if not positions:
            skipped += 1
            continue
        last = positions[-1]
        before = Conversation(messages=conversation.messages[:last], tools=conversation.tools)
        text = fmt.render(tokenizer, before, add_generation_prompt=True)
        items.append(
            EvalItem(
                id=conversation.id or str(index),
                prompt=Prompt(text=text, chat=fmt.chat_input(before), conversation=before),
                conversation=conversation,
                reference=conversation.messages[last],
                prompt_hash=prompt_hash(fmt, text),
            )
        )
    return items, skipped
