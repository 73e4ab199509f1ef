"""The mask inspector: terminal and HTML views show every token and which are trained."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from slmswap.formats import get_format
from slmswap.schema import Conversation, Message
from slmswap.templates import mask_html, mask_terminal, tokenize_conversation

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CONVERSATION = Conversation(messages=(Message.user("Say hi"), Message.assistant("Hi there!")))


def test_plain_terminal_view_marks_trained_runs_and_boundaries(tokenizer: PreTrainedTokenizerBase) -> None:
    example = tokenize_conversation(tokenizer, get_format("hermes"), CONVERSATION)
    view = mask_terminal(example, color=False)
    header, body = view.split("\n", 1)
    assert header.startswith(f"{len(example.input_ids)} tokens, {example.trained_tokens} trained")
    assert re.findall(r"⟦(.*?)⟧", body, re.S) == ["Hi· there·!·<|im_end|>·"]
    assert body.count("·") == len(example.input_ids)  # one boundary mark per token
    assert "↵" in body  # newlines are visible


def test_colour_view_alternates_shades(tokenizer: PreTrainedTokenizerBase) -> None:
    example = tokenize_conversation(tokenizer, get_format("hermes"), CONVERSATION)
    view = mask_terminal(example)
    assert view.count("\x1b[0m") >= len(example.input_ids)
    assert "\x1b[30;42m" in view
    assert "\x1b[30;102m" in view
    assert "\x1b[37;100m" in view  # masked


def test_html_view_is_self_contained(tokenizer: PreTrainedTokenizerBase) -> None:
    examples = [
        tokenize_conversation(tokenizer, get_format("hermes"), CONVERSATION),
        tokenize_conversation(tokenizer, get_format("hermes"), Conversation(messages=(Message.user("<b>alone</b>"),))),
    ]
    page = mask_html(examples, tokenizer, title="masks <demo>")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "http" not in page
    assert "<title>masks &lt;demo&gt;</title>" in page
    trained = re.findall(r'<span class="t k\d" title="[^"]*">([^<]*)</span>', page)
    assert html.unescape("".join(trained)) == "Hi there!<|im_end|>"
    assert page.count('class="t ') == len(examples[0].input_ids)
    assert "dropped: <b>no_trainable_tokens</b>" in page
    assert "<b>alone</b>" not in page  # text of a dropped example is never written unescaped


def test_dropped_example_in_terminal(tokenizer: PreTrainedTokenizerBase) -> None:
    example = tokenize_conversation(tokenizer, get_format("hermes"), Conversation(messages=(Message.user("x"),)))
    assert mask_terminal(example).startswith("(dropped: no_trainable_tokens")
