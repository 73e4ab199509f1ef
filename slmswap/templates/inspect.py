"""The mask inspector: see exactly which tokens are trained, in a terminal or a self-contained HTML page.

Trained tokens are green, masked tokens grey; neighbouring tokens alternate shades so every token boundary is
visible, and newlines are shown as ``↵``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from slmswap.templates.tokenize import IGNORE_INDEX, TokenizedExample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["mask_html", "mask_terminal"]

_ANSI = {  # (trained, shade) -> background
    (True, 0): "\x1b[30;42m",
    (True, 1): "\x1b[30;102m",
    (False, 0): "\x1b[37;100m",
    (False, 1): "\x1b[90;47m",
}
_RESET = "\x1b[0m"
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _pieces(example: TokenizedExample) -> list[tuple[str, bool]]:
    """Each token's text (from the character offsets) and whether it is trained."""
    pieces = []
    for (start, end), label in zip(example.offsets, example.labels, strict=True):
        pieces.append((example.text[start:end], label != IGNORE_INDEX))
    return pieces


def _control(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _visible(text: str) -> str:
    """Newlines and tabs made visible; every other control character (an ANSI escape sequence in the data, a
    carriage return) written as ``\\xNN``, so data can never drive the terminal."""
    text = _CONTROLS.sub(_control, text)
    return text.replace("\n", "↵\n").replace("\t", "→")


def mask_terminal(example: TokenizedExample, *, color: bool = True) -> str:
    """The example's tokens, trained ones highlighted; without colour, trained runs are wrapped in ``⟦ ⟧`` and
    token boundaries shown as ``·``."""
    if example.dropped is not None:
        return f"(dropped: {example.dropped.value}: {_CONTROLS.sub(_control, example.detail)})"
    out = []
    if color:
        for k, (text, trained) in enumerate(_pieces(example)):
            out.append(f"{_ANSI[(trained, k % 2)]}{_visible(text)}{_RESET}")
        legend = f"{_ANSI[(True, 0)]} trained {_RESET} {_ANSI[(False, 0)]} masked {_RESET}"
    else:
        previous = False
        for text, trained in _pieces(example):
            if trained != previous:
                out.append("⟦" if trained else "⟧")
            out.append(_visible(text) + "·")
            previous = trained
        if previous:
            out.append("⟧")
        legend = "⟦trained⟧ masked; · marks token boundaries"
    header = f"{len(example.input_ids)} tokens, {example.trained_tokens} trained   {legend}"
    return header + "\n" + "".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
.example { margin-bottom: 2em; }
.tokens { font-family: ui-monospace, monospace; white-space: pre-wrap; line-height: 1.7; border: 1px solid #ccc;
          padding: 0.8em; border-radius: 6px; }
.t { border-radius: 2px; }
.m0 { background: #e4e4e4; color: #777; } .m1 { background: #d2d2d2; color: #777; }
.k0 { background: #a8e6a1; } .k1 { background: #7fd477; }
.legend span { padding: 0 0.4em; margin-right: 1em; }
"""


def mask_html(examples: Sequence[TokenizedExample], tokenizer: PreTrainedTokenizerBase, *, title: str = "") -> str:
    """A self-contained HTML page showing the masks of ``examples`` (hover a token for its id and label)."""
    sections = []
    for n, example in enumerate(examples):
        if example.dropped is not None:
            body = f"<p>dropped: <b>{html.escape(example.dropped.value)}</b> {html.escape(example.detail)}</p>"
        else:
            tokens = []
            ids = tokenizer.convert_ids_to_tokens(example.input_ids)
            for k, ((text, trained), token_id, token) in enumerate(
                zip(_pieces(example), example.input_ids, ids, strict=True)
            ):
                css = f"{'k' if trained else 'm'}{k % 2}"
                tip = html.escape(f"#{k} id={token_id} {token!r} {'trained' if trained else 'masked'}", quote=True)
                tokens.append(f'<span class="t {css}" title="{tip}">{html.escape(_visible(text))}</span>')
            body = f'<div class="tokens">{"".join(tokens)}</div>'
        summary = (
            f"{len(example.input_ids)} tokens, {example.trained_tokens} trained"
            if example.dropped is None
            else "no tokens"
        )
        sections.append(f'<div class="example"><h2>Example {n}</h2><p>{summary}</p>{body}</div>')
    heading = html.escape(title or "slmswap mask inspector")
    legend = (
        '<p class="legend"><span class="k0">trained</span><span class="m0">masked</span>'
        "(shades alternate per token)</p>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{heading}</title>'
        f"<style>{_CSS}</style></head><body><h1>{heading}</h1>{legend}{''.join(sections)}</body></html>\n"
    )
