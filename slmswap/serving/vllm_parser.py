"""vLLM's side of serving a swap: a ``--tool-parser-plugin`` file, written by export, that reads the trained
format's calls with the exported ``response_template`` (transformers' parser, which vLLM installs), narrowed to
the tools each request offers, exactly as ``slmswap serve`` reads them with ``transformers serve``: calls that
are not well-formed, or that name a tool the request did not offer, come back as content. The file carries
:mod:`slmswap.serving.readable` in it, so vLLM loads it without slmswap installed."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import slmswap.serving.readable as readable

__all__ = ["PLUGIN_PARSER_NAME", "VLLM_PARSER_FILE", "write_vllm_parser"]

VLLM_PARSER_FILE = "slmswap_vllm_tool_parser.py"
"""The plugin file export writes into the exported directory."""
PLUGIN_PARSER_NAME = "slmswap"
"""The name the plugin registers its parser under (``--tool-call-parser slmswap``)."""

_PLUGIN = '''

# ---- the vLLM tool parser written by slmswap export: reads the trained format's calls with the exported
# response_template. Serve with --enable-auto-tool-choice --tool-parser-plugin THIS_FILE --tool-call-parser slmswap.

import uuid

from transformers.utils.chat_parsing import parse_response

try:  # vLLM moved these modules between releases
    from vllm.entrypoints.openai.protocol import (
        DeltaMessage,
        ExtractedToolCallInformation,
        FunctionCall,
        ToolCall,
    )
    from vllm.entrypoints.openai.tool_parsers import ToolParser, ToolParserManager
except ImportError:  # pragma: no cover
    try:
        from vllm.entrypoints.openai.protocol import (
            DeltaMessage,
            ExtractedToolCallInformation,
            FunctionCall,
            ToolCall,
        )
        from vllm.tool_parsers import ToolParser, ToolParserManager
    except ImportError:  # imported outside vLLM (to call read_answer): nothing to register
        ToolParser = None

RESPONSE_TEMPLATE = json.loads(@TEMPLATE@)


def read_answer(model_output, tools):
    """The answer's content (or None) and its calls as (name, arguments JSON) pairs: every call when all of
    them are well-formed and name one of the offered tools (OpenAI tool dicts), else none, and the text is the
    content. Arguments are passed on as the model wrote them, cast to the tools' schemas only where the call
    syntax has no types, as slmswap serve reads them."""
    offered = narrowed_template(RESPONSE_TEMPLATE, tools)
    parsed = parse_response(model_output, offered, prefix="", tools=casting_tools(RESPONSE_TEMPLATE, tools))
    calls = [
        (entry["function"]["name"], json.dumps(entry["function"].get("arguments") or {}, ensure_ascii=False))
        for entry in parsed.get("tool_calls") or []
    ]
    return parsed.get("content") or None, calls


if ToolParser is not None:

    @ToolParserManager.register_module(["@NAME@"])
    class SlmswapToolParser(ToolParser):
        """Whole-answer parsing (non-streaming requests). While streaming, text is passed on until a call
        starts; the calls themselves are not streamed (use stream=False for tool calls with this parser)."""

        def extract_tool_calls(self, model_output, request):
            tools = [tool.model_dump() for tool in getattr(request, "tools", None) or []]
            content, calls = read_answer(model_output, tools or None)
            tool_calls = [
                ToolCall(
                    id=f"call_{uuid.uuid4().hex[:24]}",
                    type="function",
                    function=FunctionCall(name=name, arguments=arguments),
                )
                for name, arguments in calls
            ]
            return ExtractedToolCallInformation(tools_called=bool(tool_calls), tool_calls=tool_calls, content=content)

        def extract_tool_calls_streaming(
            self, previous_text, current_text, delta_text, previous_token_ids, current_token_ids, delta_token_ids,
            request,
        ):
            if "<tool_call" in current_text:
                return None
            return DeltaMessage(content=delta_text)
'''


def write_vllm_parser(path: Path, response_template: dict[str, Any]) -> None:
    """Write the plugin that reads calls with ``response_template`` (a guarded one, as export writes it)."""
    tail = _PLUGIN.replace("@TEMPLATE@", repr(json.dumps(response_template))).replace("@NAME@", PLUGIN_PARSER_NAME)
    path.write_text(inspect.getsource(readable) + tail, encoding="utf-8")
