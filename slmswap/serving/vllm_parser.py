"""vLLM's side of serving a swap: which of vLLM's own tool parsers reads a format's calls, and, for the
formats vLLM has no parser for, a ``--tool-parser-plugin`` file that reads them with the exported
``response_template`` (transformers' parser, which vLLM installs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slmswap.formats.base import ChatFormat

__all__ = ["PLUGIN_PARSER_NAME", "VLLM_PARSER_FILE", "vllm_tool_parser", "write_vllm_parser"]

VLLM_PARSER_FILE = "slmswap_vllm_tool_parser.py"
"""The plugin file export writes into the exported directory."""
PLUGIN_PARSER_NAME = "slmswap"
"""The name the plugin registers its parser under (``--tool-call-parser slmswap``)."""

_FAMILY_PARSERS = {"hermes": "hermes", "llama3": "llama3_json", "mistral": "mistral"}

_PLUGIN = '''"""vLLM tool parser written by slmswap export: reads the trained format's calls with the exported
response_template. Serve with --enable-auto-tool-choice --tool-parser-plugin THIS_FILE --tool-call-parser slmswap."""

import json
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
    from vllm.entrypoints.openai.protocol import DeltaMessage, ExtractedToolCallInformation, FunctionCall, ToolCall
    from vllm.tool_parsers import ToolParser, ToolParserManager

RESPONSE_TEMPLATE = json.loads(@TEMPLATE@)


@ToolParserManager.register_module(["@NAME@"])
class SlmswapToolParser(ToolParser):
    """Whole-answer parsing (non-streaming requests). While streaming, text is passed on until a call starts;
    the calls themselves are not streamed (use stream=False for tool calls with this parser)."""

    def extract_tool_calls(self, model_output, request):
        parsed = parse_response(model_output, RESPONSE_TEMPLATE, prefix="")
        calls = [
            ToolCall(
                id=f"call_{uuid.uuid4().hex[:24]}",
                type="function",
                function=FunctionCall(
                    name=entry["function"]["name"],
                    arguments=json.dumps(entry["function"].get("arguments") or {}, ensure_ascii=False),
                ),
            )
            for entry in parsed.get("tool_calls") or []
        ]
        return ExtractedToolCallInformation(
            tools_called=bool(calls), tool_calls=calls, content=parsed.get("content") or None
        )

    def extract_tool_calls_streaming(
        self, previous_text, current_text, delta_text, previous_token_ids, current_token_ids, delta_token_ids, request
    ):
        if "<tool_call" in current_text:
            return None
        return DeltaMessage(content=delta_text)
'''


def vllm_tool_parser(fmt: ChatFormat) -> str | None:
    """The name of vLLM's own tool parser that reads ``fmt``'s calls (``--tool-call-parser``), or ``None``
    when vLLM has none and the exported plugin is needed."""
    syntax = fmt.call_syntax
    return _FAMILY_PARSERS.get(syntax) if syntax is not None else None


def write_vllm_parser(path: Path, response_template: dict[str, Any]) -> None:
    """Write the plugin that reads calls with ``response_template``."""
    source = _PLUGIN.replace("@TEMPLATE@", repr(json.dumps(response_template))).replace("@NAME@", PLUGIN_PARSER_NAME)
    path.write_text(source, encoding="utf-8")
