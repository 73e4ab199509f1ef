"""``slmswap formats`` and ``slmswap inspect``: what formats exist, and exactly which tokens get trained."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slmswap._files import write_atomically
from slmswap.cli._common import EXIT_INPUT, EXIT_OK, Command, add_model_arguments, count, fail, setup_for
from slmswap.data.named import load_data
from slmswap.formats.registry import available_formats
from slmswap.templates.inspect import mask_html, mask_terminal
from slmswap.templates.tokenize import IGNORE_INDEX, TokenizeOptions, tokenize_conversation


def _formats_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def _formats(args: argparse.Namespace) -> int:
    del args
    formats = available_formats()
    width = max(len(name) for name in formats)
    for name, source in formats.items():
        print(f"{name:<{width}}  {source}")
    return EXIT_OK


FORMATS = Command(
    "formats",
    "list the chat formats (built-in and from plugins) and where each comes from",
    "List every registered chat format with its source: 'built-in', or the plugin distribution that provides "
    "it through the 'slmswap.formats' entry point group.",
    _formats_arguments,
    _formats,
)


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="data file (any supported shape), or demo:train / demo:test")
    add_model_arguments(parser)
    parser.add_argument("--index", type=int, default=0, help="first example to show (default: 0)")
    parser.add_argument("--count", type=count, default=1, help="how many examples to show (default: 1)")
    parser.add_argument("--max-length", type=count, default=None, help="longest example in tokens")
    parser.add_argument("--html", metavar="FILE", default=None, help="also write the masks as a web page")
    parser.add_argument("--no-color", action="store_true", help="mark trained tokens with ⟦ ⟧ instead of colour")


def _inspect(args: argparse.Namespace) -> int:
    conversations = load_data(args.data)
    if not 0 <= args.index < len(conversations):
        return fail(f"{args.data}: --index {args.index} is out of range (0..{len(conversations) - 1})", EXIT_INPUT)
    tokenizer, fmt = setup_for(args.model, args.format)
    options = TokenizeOptions(max_length=args.max_length)
    chosen = conversations[args.index : args.index + args.count]
    examples = [tokenize_conversation(tokenizer, fmt, conversation, options) for conversation in chosen]
    color = not args.no_color and sys.stdout.isatty()
    for offset, example in enumerate(examples):
        trained = sum(label != IGNORE_INDEX for label in example.labels)
        print(f"--- example {args.index + offset} ({fmt.name}): {trained}/{len(example.labels)} tokens trained ---")
        print(mask_terminal(example, color=color))
    if args.html:
        write_atomically(Path(args.html), mask_html(examples, tokenizer, title=f"slmswap inspect: {args.data}"))
        print(f"wrote {args.html}")
    return EXIT_OK


INSPECT = Command(
    "inspect",
    "show which tokens of an example are trained (the mask), in the terminal or as a web page",
    "Render examples through the model's own chat template in the chosen format and show every token, the "
    "trained ones (the assistant's answer and its end-of-turn token) highlighted.",
    _inspect_arguments,
    _inspect,
)
