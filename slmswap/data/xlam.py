"""xLAM function-calling rows (Salesforce ``xlam-function-calling-60k``).

Each row holds ``query`` (the user's request), ``tools`` and ``answers`` as JSON *strings*. xLAM describes a
tool's parameters as ``{"param": {"type": "str, optional", "description": ..., "default": ...}}``; they are
converted to JSON Schema (Python type names to JSON types, ``optional`` or a default to not required).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

from slmswap.data._result import (
    LoadResult,
    OnError,
    as_data_error,
    build_conversation,
    decode_json,
    load_rows,
    require,
)
from slmswap.data._source import RowSource, iter_rows
from slmswap.errors import DataError
from slmswap.schema import Conversation, JsonObject, Message, Tool, ToolCall

__all__ = ["load_xlam", "parse_xlam_row", "xlam_parameters_to_schema"]

_PY_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "tuple": "array",
    "set": "array",
    "array": "array",
    "dict": "object",
    "object": "object",
}


def load_xlam(source: RowSource, *, on_error: OnError = "raise") -> LoadResult:
    """Load xLAM rows from a JSON/JSONL path, an iterable of dicts or a ``datasets.Dataset``."""
    return load_rows(iter_rows(source), parse_xlam_row, on_error=on_error)


def parse_xlam_row(row: Mapping[str, Any]) -> Conversation:
    """One xLAM row: the query as a user turn, the answers as one assistant turn of tool calls."""
    query = require(row, "query", str)
    raw_tools = _json_list(row, "tools")
    raw_answers = _json_list(row, "answers")
    tools = []
    for i, spec in enumerate(raw_tools):
        if not isinstance(spec, Mapping):
            raise DataError(f"a tool must be an object, got {type(spec).__name__}", field=f"tools[{i}]")
        with as_data_error(f"tools[{i}]"):
            tools.append(
                Tool(
                    name=spec.get("name", ""),
                    description=spec.get("description", ""),
                    parameters=xlam_parameters_to_schema(spec.get("parameters") or {}),
                )
            )
    calls = []
    for i, answer in enumerate(raw_answers):
        if not isinstance(answer, Mapping):
            raise DataError(f"an answer must be an object, got {type(answer).__name__}", field=f"answers[{i}]")
        with as_data_error(f"answers[{i}]"):
            calls.append(ToolCall(name=answer.get("name", ""), arguments=answer.get("arguments") or {}))
    messages = [Message.user(query)]
    origins = ["query"]
    if calls:
        messages.append(Message.assistant(tool_calls=calls))
        origins.append("answers")
    row_id = row.get("id")
    return build_conversation(messages, origins, tools=tools, row_id=None if row_id is None else str(row_id))


def xlam_parameters_to_schema(parameters: Mapping[str, Any]) -> JsonObject:
    """xLAM's ``{"param": {"type", "description", "default"}}`` as a JSON Schema object."""
    if parameters.get("type") == "object" and isinstance(parameters.get("properties"), Mapping):
        return dict(parameters)  # already JSON Schema
    properties: JsonObject = {}
    required: list[str] = []
    for name, spec in parameters.items():
        if not isinstance(spec, Mapping):
            raise DataError(f"parameter spec must be an object, got {type(spec).__name__}", field=f"parameters.{name}")
        declared = str(spec.get("type", ""))
        schema: JsonObject = {}
        json_type = _json_type(declared)
        if json_type:
            schema["type"] = json_type
        if spec.get("description"):
            schema["description"] = str(spec["description"])
        if "default" in spec:
            schema["default"] = spec["default"]
        properties[str(name)] = schema
        if "optional" not in declared.lower() and "default" not in spec:
            required.append(str(name))
    return {"type": "object", "properties": properties, "required": list[JsonValue](required)}


def _json_type(declared: str) -> str | None:
    """``"List[int], optional"`` → ``"array"``; unknown or ``Any`` → ``None`` (no constraint)."""
    head = re.split(r"[\[,\s]", declared.strip(), maxsplit=1)[0].lower()
    return _PY_TYPES.get(head)


def _json_list(row: Mapping[str, Any], key: str) -> list[Any]:
    value = require(row, key, (str, list))
    decoded = decode_json(value, key) if isinstance(value, str) else value
    if not isinstance(decoded, list):
        raise DataError(f"expected a JSON list, got {type(decoded).__name__}", field=key)
    return decoded
