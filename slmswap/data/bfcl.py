"""Berkeley Function Calling Leaderboard (BFCL) rows.

A BFCL question row is ``{"id", "question": [[messages of turn 1]], "function": [tool specs]}``; a
``possible_answer`` row is ``{"id", "ground_truth": [{"fn": {"param": [acceptable values]}}]}``. Only
single-turn categories are read (multi-turn ground truth is executable Python, not calls).

BFCL writes parameter types in Python's vocabulary (``dict``, ``float``, ``tuple``, ``any``) and, for its Java
and JavaScript categories, in theirs; they are mapped to JSON Schema. The target assistant turn takes the first
acceptable value of each parameter (an empty string among the acceptable values marks it optional, and it is
omitted when nothing else is given); the full ground truth stays in ``metadata["bfcl_ground_truth"]`` for
scoring with BFCL's own AST rules, next to the function specs as BFCL wrote them (``metadata["bfcl_functions"]``:
its type names, such as ``float`` or ``HashMap``, matter to those rules) and the category
(``metadata["bfcl_category"]``). Rows of the ``irrelevance`` categories (no function fits the question) get a
target that makes no call, a text turn whose wording is a placeholder (``metadata["placeholder_text"]``): what
is scored is that no call is made. Other rows with no possible answer (``live_relevance``) become prompts with
no assistant turn.

The data ships in the ``bfcl-eval`` wheel; :func:`load_bfcl_wheel` reads a category straight from it without
installing the package::

    pip download --no-deps bfcl-eval -d wheels/
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from slmswap.data._result import LoadResult, OnError, as_data_error, build_conversation, load_rows, require
from slmswap.data._source import Row, RowSource, bytes_rows, iter_rows
from slmswap.errors import DataError
from slmswap.metrics.base import PLACEHOLDER_TEXT
from slmswap.schema import Conversation, JsonObject, Message, Tool, ToolCall

__all__ = ["IRRELEVANCE_ANSWER", "bfcl_schema", "load_bfcl", "load_bfcl_wheel", "parse_bfcl_row"]

IRRELEVANCE_ANSWER = "None of the functions offered can answer this."
"""The target turn of a row from an irrelevance category: text, no call (its wording is a placeholder)."""

_TYPES = {
    "dict": "object",
    "object": "object",
    "hashmap": "object",
    "map": "object",
    "float": "number",
    "double": "number",
    "number": "number",
    "bigdecimal": "number",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "short": "integer",
    "byte": "integer",
    "tuple": "array",
    "list": "array",
    "array": "array",
    "arraylist": "array",
    "set": "array",
    "str": "string",
    "string": "string",
    "char": "string",
    "bool": "boolean",
    "boolean": "boolean",
}


def load_bfcl(
    source: RowSource, possible_answer: RowSource | None = None, *, on_error: OnError = "raise"
) -> LoadResult:
    """Load BFCL question rows, joined by ``id`` with their ``possible_answer`` rows when given."""
    answers = _answers(iter_rows(possible_answer)) if possible_answer is not None else {}
    return load_rows(iter_rows(source), lambda row: parse_bfcl_row(row, answers), on_error=on_error)


def load_bfcl_wheel(wheel: str | Path, category: str, *, on_error: OnError = "raise") -> LoadResult:
    """Load one BFCL category (e.g. ``"simple_python"``) from a ``bfcl_eval-*.whl`` file, answers included."""
    wheel = Path(wheel)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        question = next((n for n in sorted(names) if n.endswith(f"/data/BFCL_v4_{category}.json")), None)
        if question is None:
            raise DataError(f"no BFCL category {category!r} in the wheel", source=str(wheel))
        answer = question.replace("/data/", "/data/possible_answer/")
        questions = archive.read(question)
        answer_rows = list(bytes_rows(archive.read(answer), f"{wheel.name}!{answer}")) if answer in names else []
    answers = _answers(answer_rows)
    rows = bytes_rows(questions, f"{wheel.name}!{question}")
    return load_rows(rows, lambda row: parse_bfcl_row(row, answers), on_error=on_error)


def parse_bfcl_row(row: Mapping[str, Any], answers: Mapping[str, list[Any]] | None = None) -> Conversation:
    """One BFCL row as a conversation; with its ground truth (from ``answers``) as the assistant turn."""
    row_id = str(require(row, "id", str))
    turns = require(row, "question", list)
    if len(turns) != 1 or not isinstance(turns[0], list):
        raise DataError(
            f"{len(turns)} turns: multi-turn BFCL rows are not supported",
            field="question",
            hint="load a single-turn category (simple, multiple, parallel, irrelevance, live_*)",
        )
    messages: list[Message] = []
    origins: list[str] = []
    for i, raw in enumerate(turns[0]):
        field = f"question[0][{i}]"
        if not isinstance(raw, Mapping):
            raise DataError(f"expected an object, got {type(raw).__name__}", field=field)
        with as_data_error(field):
            messages.append(Message.model_validate({"role": raw.get("role"), "content": raw.get("content")}))
        origins.append(field)
    tools = []
    for i, spec in enumerate(require(row, "function", list)):
        if not isinstance(spec, Mapping):
            raise DataError(f"a function must be an object, got {type(spec).__name__}", field=f"function[{i}]")
        with as_data_error(f"function[{i}]"):
            tools.append(
                Tool(
                    name=spec.get("name", ""),
                    description=spec.get("description", ""),
                    parameters=bfcl_schema(spec.get("parameters") or {"type": "dict", "properties": {}}),
                )
            )
    category = row_id.rsplit("_", 1)[0]
    metadata: JsonObject = {"bfcl_category": category, "bfcl_functions": list(row["function"])}
    truth = (answers or {}).get(row_id)
    if truth is not None:
        messages.append(Message.assistant(tool_calls=_target_calls(truth, row["function"])))
        origins.append("possible_answer.ground_truth")
        metadata["bfcl_ground_truth"] = truth
    elif "irrelevance" in category:
        messages.append(Message.assistant(IRRELEVANCE_ANSWER))
        origins.append(f"{category} (no function fits: the answer makes no call)")
        metadata[PLACEHOLDER_TEXT] = True
    return build_conversation(messages, origins, tools=tools, row_id=row_id, metadata=metadata)


def bfcl_schema(schema: Mapping[str, Any]) -> JsonObject:
    """A BFCL parameter schema with its type names mapped to JSON Schema's (recursively)."""
    converted: JsonObject = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            json_type = _TYPES.get(value.lower(), "string")
            if value.lower() != "any":
                converted["type"] = json_type
        elif key == "properties" and isinstance(value, Mapping):
            converted[key] = {name: bfcl_schema(sub) for name, sub in value.items() if isinstance(sub, Mapping)}
        elif key == "items" and isinstance(value, Mapping):
            converted[key] = bfcl_schema(value)
        else:
            converted[key] = value
    return converted


def _answers(rows: Iterator[Row | DataError] | list[Row | DataError]) -> dict[str, list[Any]]:
    answers: dict[str, list[Any]] = {}
    for row in rows:
        if isinstance(row, DataError):
            raise row
        truth = row.data.get("ground_truth")
        if not isinstance(truth, list):
            raise row.error(DataError("expected a list", field="ground_truth"))
        answers[str(row.data.get("id"))] = truth
    return answers


def _target_calls(truth: list[Any], functions: list[Any]) -> list[ToolCall]:
    specs = {spec.get("name"): spec for spec in functions if isinstance(spec, Mapping)}
    calls = []
    for k, entry in enumerate(truth):
        if not (isinstance(entry, Mapping) and len(entry) == 1):
            raise DataError(
                "each ground-truth entry must map one function name to its arguments",
                field=f"possible_answer.ground_truth[{k}]",
            )
        ((name, params),) = entry.items()
        calls.append(ToolCall(name=name, arguments=_first_values(params, specs.get(name))))
    return calls


_OMITTED = object()


def _resolved(value: Any) -> Any:
    """A concrete value: nested objects (also inside lists) list acceptable values per key; take the first."""
    if isinstance(value, Mapping):
        return _first_values(value)
    if isinstance(value, list):
        return [_resolved(item) for item in value]
    return value


def _first_acceptable(values: object) -> Any:
    if not isinstance(values, list):
        return values
    for value in values:
        if value != "":
            return _resolved(value)
    return _OMITTED


_LEFT_EMPTY: dict[str, JsonValue] = {"string": "", "any": "", "String": "", "array": [], "tuple": [], "ArrayList": []}
"""What BFCL accepts for a required parameter whose only acceptable value is ``""``, by declared type."""


def _first_values(params: Mapping[str, Any], spec: Mapping[str, Any] | None = None) -> dict[str, JsonValue]:
    """The first acceptable value of each parameter; with the function's ``spec``, also an answer BFCL's checker
    accepts: an optional parameter the function does not declare is left out, and a required one whose only
    acceptable value is ``""`` is given as ``""`` (or ``[]`` for a list)."""
    declared = spec.get("parameters", {}).get("properties", {}) if spec is not None else None
    required = spec.get("parameters", {}).get("required", []) if spec is not None else []
    chosen = {}
    for name, values in params.items():
        value = _first_acceptable(values)
        if declared is not None and name not in declared and isinstance(values, list) and "" in values:
            continue
        if value is _OMITTED and declared is not None and name in required:
            value = _LEFT_EMPTY.get(str(declared.get(name, {}).get("type")), _OMITTED)
        if value is not _OMITTED:
            chosen[name] = value
    return chosen
