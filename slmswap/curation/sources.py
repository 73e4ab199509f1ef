"""Reading what curation works on: data files, evaluation run directories (a relabelling run), and the
gateway's traffic store, each into :class:`~slmswap.curation.example.Example`\\ s.

A source is named as on the command line:

* a data file of any shape slmswap loads (or ``demo:train``): each conversation's last assistant turn is the
  answer. OpenAI chat rows are read as request logs: the last assistant turn is the answer even where it calls
  a tool the request did not offer or is empty (validity drops it, with its reason, instead of the loader
  refusing the row), and two optional keys say what the server said: ``finish_reason`` (of that answer) and
  ``error`` (the upstream error; the row then has no assistant turn). Rows of the other shapes that do not load
  are dropped as unreadable, naming line and field.
* a run directory (``records.jsonl``) written by :func:`~slmswap.curation.relabel`: the teacher's answers are
  the labels, the answers the data held are kept beside them as the originals.
* ``traffic:STORE``: a traffic store the gateway recorded (a SQLite file or a ``postgresql://`` URL), every
  exchange of it: the failed ones too (an upstream error, an answer it could not read or found empty), which
  validity drops with their reason, while the ``traffic:`` data source of the other commands leaves them out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slmswap.curation.example import Answer, Example, Unreadable
from slmswap.data import SourceKind, detect_kind, load_conversations
from slmswap.data._result import as_data_error, require
from slmswap.data._source import Row, iter_rows
from slmswap.data.named import DEMO_PREFIX, TRAFFIC_PREFIX, load_data
from slmswap.data.openai import parse_openai_answer, parse_openai_message, parse_openai_tools
from slmswap.errors import ConfigError, DataError
from slmswap.evaluation.rundir import RECORDS_FILE
from slmswap.evaluation.runner import EvalRecord, read_records
from slmswap.formats.base import ParseFailure
from slmswap.schema import Conversation, Message, Tool

__all__ = [
    "CONVERSATIONS_FILE",
    "UNREADABLE_FILE",
    "SourceExamples",
    "answer_of",
    "log_example",
    "read_source",
    "read_sources",
]

CONVERSATIONS_FILE = "conversations.jsonl"
"""The data a relabelling run answered, kept in its run directory (OpenAI rows) so the run can be curated alone."""

UNREADABLE_FILE = "unreadable.jsonl"
"""The rows of the data a relabelling run could not read (``{"id", "detail"}`` lines), kept in its directory."""

_JUDGED_BY_VALIDITY = {ParseFailure.UNKNOWN_TOOL.value, ParseFailure.BAD_ARGUMENTS.value}


@dataclass
class SourceExamples:
    """What the sources held: the examples, the rows that could not be read, and whether the labels are a
    teacher's (a relabelling run) rather than the answers the sources recorded."""

    examples: list[Example] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    relabelled: bool = False
    unanswered: list[str] = field(default_factory=list)
    """For a relabelling run, the ids of the requests it holds no teacher answer for."""


def read_sources(sources: Sequence[str | Path]) -> SourceExamples:
    """Every source's examples, their ids made unique across sources (a repeated id gets ``#2``, ``#3``, ...)."""
    if not sources:
        raise ConfigError("curate needs at least one source (a data file, demo:train, or a run directory)")
    read = SourceExamples()
    seen: dict[str, int] = {}
    kinds = []
    for source in sources:
        part = read_source(source)
        kinds.append(part.relabelled)
        for example in part.examples:
            read.examples.append(_renamed(example, _unique(example.id, seen)))
        for row in part.unreadable:
            read.unreadable.append(Unreadable(_unique(row.id, seen), row.detail))
        read.unanswered += [_unique(example_id, seen) for example_id in part.unanswered]
    if len(set(kinds)) > 1:
        raise ConfigError(
            "the sources mix relabelled runs with recorded answers: curate a relabelling run alone (it already "
            "holds the original answers beside the teacher's)"
        )
    read.relabelled = kinds[0]
    return read


def _unique(example_id: str, seen: dict[str, int]) -> str:
    count = seen.get(example_id, 0) + 1
    seen[example_id] = count
    return example_id if count == 1 else f"{example_id}#{count}"


def _renamed(example: Example, example_id: str) -> Example:
    if example_id == example.id:
        return example
    return Example(example_id, example.request, example.answer, example.original)


def read_source(source: str | Path) -> SourceExamples:
    """The examples of one source (see the module docstring for what a source may be)."""
    text = str(source)
    if text.startswith(TRAFFIC_PREFIX):
        return _traffic(text.removeprefix(TRAFFIC_PREFIX))
    if text.startswith(DEMO_PREFIX):
        return SourceExamples(_conversations(load_data(text), text))
    path = Path(source)
    if path.is_dir():
        return _run_directory(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such data file or run directory")
    return _data_file(path)


def _data_file(path: Path) -> SourceExamples:
    kind: SourceKind = "openai"
    for row in iter_rows(path):  # the first readable row tells the shape
        if isinstance(row, Row):
            try:
                kind = detect_kind(row.data)
            except DataError as exc:
                raise row.error(exc) from None
            break
    read = SourceExamples()
    if kind != "openai":
        loaded = load_conversations(path, kind, on_error="collect")
        read.examples = _conversations(list(loaded), path.name)
        read.unreadable = [Unreadable(_error_id(error, path.name), str(error)) for error in loaded.errors]
        return read
    tools_seen: dict[str, tuple[Tool, ...]] = {}
    for row in iter_rows(path):  # streamed: a row's raw form is gone once read
        if isinstance(row, DataError):
            read.unreadable.append(Unreadable(_error_id(row, path.name), str(row)))
            continue
        example_id = str(row.data.get("id") or f"{path.name}:{row.line if row.line is not None else row.index}")
        try:
            read.examples.append(log_example(row.data, example_id, tools_seen))
        except DataError as exc:
            read.unreadable.append(Unreadable(example_id, str(row.error(exc))))
    return read


def _error_id(error: DataError, name: str) -> str:
    return f"{name}:{error.line if error.line is not None else error.index}"


def log_example(
    row: Mapping[str, Any], example_id: str, tools_seen: dict[str, tuple[Tool, ...]] | None = None
) -> Example:
    """One OpenAI chat row read as a request log entry (see the module docstring); a :class:`DataError` naming
    the field when its request cannot be read. ``tools_seen`` keeps the tool lists already read (by their JSON
    text): requests of one application repeat the same tools, read once."""
    raw_messages = require(row, "messages", list)
    positions = [i for i, raw in enumerate(raw_messages) if isinstance(raw, Mapping) and raw.get("role") == "assistant"]
    last = positions[-1] if positions else len(raw_messages)
    request = _request(raw_messages[:last], row.get("tools"), example_id, tools_seen)
    finish_reason = row.get("finish_reason")
    finish_reason = finish_reason if isinstance(finish_reason, str) else None
    error = row.get("error")
    if error:
        return Example(example_id, request, Answer(None, finish_reason, error=_error_text(error)))
    if not positions:
        return Example(example_id, request, Answer(None, finish_reason))
    return Example(example_id, request, answer_of(raw_messages[last], finish_reason))


def _request(
    raw_messages: list[Any], raw_tools: object, example_id: str, tools_seen: dict[str, tuple[Tool, ...]] | None
) -> Conversation:
    """The request: messages in the Chat Completions shape and the offered tools, read by the one OpenAI codec."""
    tools = _tools(raw_tools or [], tools_seen if tools_seen is not None else {})
    messages = [parse_openai_message(raw, f"messages[{i}]") for i, raw in enumerate(raw_messages)]
    with as_data_error(""):
        return Conversation(messages=tuple(messages), tools=tools, id=example_id)


def _tools(raw: object, seen: dict[str, tuple[Tool, ...]]) -> tuple[Tool, ...]:
    key = repr(raw)  # equal text, equal tools; a list written in another key order is only read again
    tools = seen.get(key)
    if tools is None:
        tools = seen[key] = tuple(parse_openai_tools(raw, "tools"))
    return tools


def _error_text(error: object) -> str:
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(error)


def answer_of(message: object, finish_reason: str | None = None) -> Answer:
    """An assistant message in the Chat Completions shape as an :class:`Answer` (read by the one OpenAI codec:
    :func:`~slmswap.data.openai.parse_openai_answer`); an unreadable one is an answer marked malformed."""
    try:
        parsed = parse_openai_answer({"choices": [{"message": message, "finish_reason": finish_reason}]})
    except DataError as exc:
        return Answer(None, finish_reason, malformed=str(exc).replace("choices[0].message", "answer"))
    if not parsed.content.strip() and not parsed.tool_calls:
        return Answer(None, parsed.finish_reason)
    turn = Message.assistant(content=parsed.content or None, tool_calls=parsed.tool_calls)
    return Answer(turn, parsed.finish_reason)


def _conversations(conversations: Sequence[Conversation], name: str) -> list[Example]:
    return [example for index, c in enumerate(conversations) if (example := _split_off(c, f"{name}:{index}"))]


def _split_off(conversation: Conversation, fallback_id: str) -> Example | None:
    """The conversation as a request and its last assistant turn (``None``: it has no assistant turn)."""
    positions = conversation.assistant_indices()
    example_id = conversation.id or fallback_id
    if not positions:
        request = conversation.model_copy(update={"id": example_id})
        return Example(example_id, request, Answer(None))
    last = positions[-1]
    request = Conversation(messages=conversation.messages[:last], tools=conversation.tools, id=example_id)
    return Example(example_id, request, Answer(conversation.messages[last]))


def _run_directory(directory: Path) -> SourceExamples:
    records_path, data_path = directory / RECORDS_FILE, directory / CONVERSATIONS_FILE
    if not records_path.is_file():
        raise ConfigError(f"{directory}: no {RECORDS_FILE} here; it is not an evaluation run directory")
    if not data_path.is_file():
        raise ConfigError(
            f"{directory}: no {CONVERSATIONS_FILE} here, so the prompts its answers belong to are unknown: curate a "
            "run written by 'slmswap relabel' (it keeps the data it answered), or curate the data itself"
        )
    data = _data_file(data_path)
    latest = {record.id: record for record in read_records(records_path)}
    read = SourceExamples(unreadable=data.unreadable, relabelled=True)
    aside = directory / UNREADABLE_FILE
    for line in aside.read_text(encoding="utf-8").splitlines() if aside.is_file() else []:
        row = json.loads(line)
        read.unreadable.append(Unreadable(str(row["id"]), str(row["detail"])))
    for original in data.examples:
        record = latest.get(original.id)
        if record is None:
            read.unanswered.append(original.id)
        else:
            read.examples.append(Example(original.id, original.request, _teacher_answer(record), original.answer))
    return read


def _teacher_answer(record: EvalRecord) -> Answer:
    if record.failure == ParseFailure.BACKEND_ERROR.value:
        return Answer(None, error=record.detail or "the teacher's server gave no answer")
    if record.failure == ParseFailure.EMPTY.value:
        return Answer(None)
    if record.failure is not None and (record.prediction is None or record.failure not in _JUDGED_BY_VALIDITY):
        return Answer(None, malformed=f"{record.failure}: {record.detail}".rstrip(": "))
    return Answer(record.prediction)


_MALFORMED, _EMPTY = "the answer is malformed", "the answer is empty"
"""How the gateway's ``error`` column begins for an answer it could not read, or one without text and calls."""


def _traffic(store: str) -> SourceExamples:
    """Every exchange of a gateway's traffic store, failed ones included (they are dropped with their reason)."""
    try:
        from slmswap.data.traffic import read_exchanges, store_name
    except ImportError:
        raise ConfigError(
            f"{store}: reading a traffic store needs the gateway extra: pip install 'slmswap[gateway]'"
        ) from None
    read = SourceExamples()
    tools_seen: dict[str, tuple[Tool, ...]] = {}
    for exchange in read_exchanges(store):
        example_id = str(exchange["id"])
        try:
            request = _request(exchange["messages"] or [], exchange["tools"], example_id, tools_seen)
        except DataError as exc:
            read.unreadable.append(Unreadable(example_id, f"{store_name(store)} exchange {example_id}: {exc}"))
            continue
        read.examples.append(Example(example_id, request, _exchange_answer(exchange)))
    return read


def _exchange_answer(exchange: Mapping[str, Any]) -> Answer:
    finish_reason, error, status = exchange["finish_reason"], exchange["error"], exchange["status"]
    if error is None and status == 200:
        message = {"role": "assistant", "content": exchange["content"], "tool_calls": exchange["tool_calls"]}
        return answer_of(message, finish_reason)
    if error is not None and error.startswith(_MALFORMED):
        return Answer(None, finish_reason, malformed=error)
    if error is not None and error.startswith(_EMPTY):
        return Answer(None, finish_reason)
    return Answer(None, finish_reason, error=error or f"HTTP {status}")
