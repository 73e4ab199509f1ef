"""The template engine: assistant-only masks for any chat template, template lint, and a mask inspector."""

from slmswap.templates.inspect import mask_html, mask_terminal
from slmswap.templates.lint import CHECKS, Finding, Severity, lint_template, sample_conversations
from slmswap.templates.prepare import PreparationStats, PreparedData, prepare_dataset
from slmswap.templates.spans import (
    AssistantSpan,
    RenderedConversation,
    TurnSelection,
    render_with_spans,
    template_sha256,
)
from slmswap.templates.tokenize import (
    IGNORE_INDEX,
    DropReason,
    TokenizedExample,
    TokenizeOptions,
    tokenize_conversation,
    tokenize_conversations,
)

__all__ = [
    "CHECKS",
    "IGNORE_INDEX",
    "AssistantSpan",
    "DropReason",
    "Finding",
    "PreparationStats",
    "PreparedData",
    "RenderedConversation",
    "Severity",
    "TokenizeOptions",
    "TokenizedExample",
    "TurnSelection",
    "lint_template",
    "mask_html",
    "mask_terminal",
    "prepare_dataset",
    "render_with_spans",
    "sample_conversations",
    "template_sha256",
    "tokenize_conversation",
    "tokenize_conversations",
]
