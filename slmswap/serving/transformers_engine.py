"""``transformers serve`` as ``slmswap serve`` runs it: the engine itself, with one addition around its response
parsing. The exported ``response_template`` already reads every generation (calls that are not well-formed come
back as content, see :mod:`slmswap.serving.readable`); this layer narrows it, request by request, to the tools
that request offers, so that a call to any other name comes back as content too; and it keeps transformers from
casting a typed call's arguments to the tools' schemas, so that a served call is what the model wrote.

Run as ``python -m slmswap.serving.transformers_engine serve DIR ...`` (the ``transformers serve`` arguments).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from slmswap.errors import ConfigError
from slmswap.serving.readable import casting_tools, narrowed_template

__all__ = ["install", "main", "offered_parse_response"]


def offered_parse_response(parse: Callable[..., Any]) -> Callable[..., Any]:
    """``parse`` (transformers' ``parse_response(text, template, *, prefix, tools, ...)``) reading ``template``
    narrowed to the ``tools`` of the call, casting arguments only where its syntax has no types
    (:func:`~slmswap.serving.readable.casting_tools`). Other keywords (5.25's ``tokenizer``, with which ``text``
    and ``prefix`` are token ids) pass through unchanged."""

    def parse_offered(text: Any, template: Any, *, prefix: Any = None, tools: Any = None, **other: Any) -> Any:
        narrowed = narrowed_template(template, tools)
        return parse(text, narrowed, prefix=prefix, tools=casting_tools(template, tools), **other)

    return parse_offered


def install() -> None:
    """Narrow transformers' response parsing to the offered tools in this process: the whole-answer parse
    (``tokenizer.parse_response``) and the streaming parser ``transformers serve`` builds.

    Raises:
        ConfigError: This transformers release parses responses elsewhere (the layer would be a no-op).
    """
    import transformers.tokenization_utils_base as tokenization
    from transformers.cli.serving import utils as serving

    if not hasattr(tokenization, "_template_parse_response") or not hasattr(serving, "ResponseParser"):
        raise ConfigError(
            "this transformers release parses responses where slmswap serve does not look; install "
            "'slmswap[serve]', which holds transformers to the releases it is tested with"
        )
    base = serving.ResponseParser

    class OfferedToolsParser(base):  # type: ignore[misc,valid-type]  # transformers is untyped
        """transformers' streaming parser, reading the template narrowed to the request's tools."""

        def __init__(self, response_template: Any, prefix: Any = None, *, tools: Any = None, **other: Any) -> None:
            narrowed = narrowed_template(response_template, tools)
            super().__init__(narrowed, prefix, tools=casting_tools(response_template, tools), **other)

    tokenization._template_parse_response = offered_parse_response(tokenization._template_parse_response)
    serving.ResponseParser = OfferedToolsParser


def main(argv: Sequence[str] | None = None) -> None:
    """Install the layer, then run transformers' own command line with ``argv`` (default: ``sys.argv[1:]``)."""
    install()
    from transformers.cli.transformers import app

    app(args=list(sys.argv[1:] if argv is None else argv), prog_name="transformers")


if __name__ == "__main__":
    main()
