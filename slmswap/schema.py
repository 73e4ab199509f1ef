"""The typed core: tool calls, tools, messages and conversations.

Every loader turns its rows into these models, every chat format renders them, and every metric scores them.
They validate at construction and round-trip losslessly through JSON::

    >>> conv = Conversation(
    ...     messages=[
    ...         Message(role="user", content="Weather in Paris?"),
    ...         Message(role="assistant", tool_calls=[ToolCall(name="get_weather", arguments={"city": "Paris"})]),
    ...     ],
    ...     tools=[Tool(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})],
    ... )
    >>> Conversation.model_validate_json(conv.model_dump_json()) == conv
    True

Checks that involve one message raise pydantic's ``ValidationError``; checks across messages (a tool result
with no preceding call, a call to a tool that is not listed, a misplaced system message) raise
:class:`~slmswap.errors.DataError` naming the offending field, e.g. ``messages[3]``.

Every string that enters (content, names, ids, tool descriptions, and the keys and values of arguments,
parameter schemas and metadata at any depth) must be valid Unicode text: one holding a lone surrogate
(``"a\\ud800b"``, which no UTF-8 text can hold) is refused with a :class:`~slmswap.errors.DataError` naming
its field from the outermost model validated, e.g. ``messages[0].content`` or
``messages[1].tool_calls[0].arguments.city``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.validators import validator_for
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from slmswap._json import LoneSurrogateError, check_json_value, check_text, json_path, strict_loads
from slmswap.errors import DataError

__all__ = ["Conversation", "JsonObject", "Message", "Role", "Tool", "ToolCall"]

Role = Literal["system", "user", "assistant", "tool"]
"""The four roles a :class:`Message` may have."""

JsonObject = dict[str, JsonValue]
"""A JSON object (string keys, JSON values)."""

_ROLES: tuple[str, ...] = get_args(Role)


def _text(value: object) -> object:
    if isinstance(value, str):  # before pydantic's own checks: min_length cannot count a lone surrogate
        check_text(value)  # LoneSurrogateError is a ValueError: pydantic reports it on the field
    return value


def _json_object(value: JsonObject) -> JsonObject:
    check_json_value(value)  # a StrictJsonError (a ValueError) names where inside in its parts
    return value


_Text = Annotated[str, BeforeValidator(_text)]
"""A string that is valid Unicode text."""

_StrictObject = Annotated[JsonObject, AfterValidator(_json_object)]
"""A JSON object holding only valid text and finite numbers."""

_NESTED: ContextVar[bool] = ContextVar("slmswap_schema_nested", default=False)
"""Whether a model of the typed core is being validated inside another one (which then names the field)."""


class _CoreModel(BaseModel):
    """What every model of the typed core shares: frozen, no unknown fields, and only valid text let in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="wrap")
    @classmethod
    def _text_at_the_door(cls, value: object, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """A lone surrogate anywhere inside is a :class:`DataError` naming its field from the outermost model
        (nested models let pydantic's error, which knows the path, pass up to it)."""
        if _NESTED.get():
            return handler(value)
        token = _NESTED.set(True)
        try:
            return handler(value)
        except ValidationError as exc:
            error = _lone_surrogate(exc)
            if error is None:
                raise
            raise error from None
        finally:
            _NESTED.reset(token)


def _lone_surrogate(exc: ValidationError) -> DataError | None:
    """The first lone surrogate ``exc`` reports, as a :class:`DataError` naming its field; ``None`` if none."""
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, LoneSurrogateError):
            return DataError(
                str(cause),
                field=json_path((*error["loc"], *cause.parts)) or None,
                hint="pass valid Unicode text; a lone surrogate has no UTF-8 form, so replace it with U+FFFD",
            )
    return None


class ToolCall(_CoreModel):
    """One call of a tool by the assistant.

    ``arguments`` is always a JSON object (a dict); a JSON *string* holding an object, as the OpenAI API sends
    it, is decoded on construction.
    """

    name: _Text = Field(min_length=1, description="Name of the tool called, as listed in the conversation's tools.")
    arguments: _StrictObject = Field(default_factory=dict, description="Arguments of the call, a JSON object.")
    id: _Text | None = Field(default=None, description="Call id linking a tool result to this call, if any.")

    @field_validator("arguments", mode="before")
    @classmethod
    def _decode_json_string(cls, value: object) -> object:
        if isinstance(value, str):
            text = value
            try:
                value = strict_loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"arguments is a string but not valid JSON ({exc.msg}): {text[:80]!r}") from exc
        if not isinstance(value, dict):
            raise ValueError(f"arguments must be a JSON object, got {type(value).__name__}: {value!r:.80}")
        return value


@lru_cache(maxsize=4096)
def _schema_problem(schema_json: str) -> str:
    """Why a schema (as canonical JSON) is not valid JSON Schema, or ``""``; cached, as datasets repeat tools."""
    schema = json.loads(schema_json)
    try:
        validator_for(schema).check_schema(schema)
    except jsonschema_exceptions.SchemaError as exc:
        path = "/".join(str(p) for p in exc.path) or "<root>"
        return f"parameters is not a valid JSON Schema at {path}: {exc.message}"
    return ""


def _empty_object_schema() -> JsonObject:
    return {"type": "object", "properties": {}}


def _schema_of_callable(function: Callable[..., Any]) -> dict[str, Any]:
    from transformers.utils.chat_template_utils import get_json_schema

    spec: dict[str, Any] = get_json_schema(function)["function"]
    # get_json_schema also describes the return value, which a tool spec does not carry.
    return {key: spec[key] for key in ("name", "description", "parameters") if key in spec}


class Tool(_CoreModel):
    """A tool the assistant may call: a name, a description and a JSON Schema for its arguments.

    Accepts the bare spec (``{"name", "description", "parameters"}``), the OpenAI wrapper
    (``{"type": "function", "function": {...}}``) or a Python callable with type hints and a Google-style
    docstring (converted with :func:`transformers.utils.get_json_schema`).
    """

    name: _Text = Field(min_length=1)
    description: _Text = ""
    parameters: _StrictObject = Field(default_factory=lambda: _empty_object_schema())

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: object) -> object:
        if callable(value) and not isinstance(value, type):
            return _schema_of_callable(value)
        if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("function"), dict):
            return value["function"]
        return value

    @field_validator("parameters")
    @classmethod
    def _is_json_schema(cls, value: JsonObject) -> JsonObject:
        problem = _schema_problem(json.dumps(value, sort_keys=True))
        if problem:
            raise ValueError(problem)
        kind = value.get("type", "object")
        if kind != "object":
            raise ValueError(f"parameters must describe a JSON object (type 'object'), got type {kind!r}")
        return value

    @classmethod
    def from_callable(cls, function: Callable[..., Any]) -> Tool:
        """Build a tool from a typed, documented Python function."""
        return cls.model_validate(_schema_of_callable(function))

    def to_openai(self) -> JsonObject:
        """The OpenAI / Hugging Face ``{"type": "function", "function": {...}}`` form."""
        return {"type": "function", "function": self.model_dump(mode="json")}

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required parameters."""
        required = self.parameters.get("required", [])
        return tuple(str(r) for r in required) if isinstance(required, list) else ()

    @property
    def properties(self) -> JsonObject:
        """The parameter schemas by name (empty when the schema lists none)."""
        props = self.parameters.get("properties", {})
        return props if isinstance(props, dict) else {}


class Message(_CoreModel):
    """One turn of a conversation.

    * ``system`` and ``user`` turns carry ``content``.
    * ``assistant`` turns carry ``content``, ``tool_calls``, or both; never neither.
    * ``tool`` turns carry the result of a call in ``content``, optionally with the ``tool_call_id`` and the
      tool ``name`` it answers.
    """

    role: Role
    content: _Text | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: _Text | None = None
    name: _Text | None = None
    weight: Literal[0, 1] | None = Field(
        default=None,
        description="OpenAI fine-tuning's weight of an assistant turn: 0 keeps it in the context without training "
        "it; 1 or unset trains it.",
    )

    @field_validator("role", mode="before")
    @classmethod
    def _known_role(cls, value: object) -> object:
        if isinstance(value, str) and value not in _ROLES:
            raise ValueError(f"unknown role {value!r}; expected one of {', '.join(_ROLES)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Message:
        if self.role == "assistant":
            if not self.content and not self.tool_calls:
                raise ValueError("assistant turn has neither content nor tool calls")
        elif self.tool_calls:
            raise ValueError(f"only assistant turns may carry tool calls; this turn's role is {self.role!r}")
        elif self.content is None:
            raise ValueError(f"a {self.role} turn needs content")
        if self.role != "tool" and (self.tool_call_id is not None or self.name is not None):
            raise ValueError("tool_call_id and name belong to tool turns only")
        if self.weight is not None and self.role != "assistant":
            raise ValueError("weight belongs to assistant turns only")
        return self

    @classmethod
    def system(cls, content: str) -> Message:
        """A system turn."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        """A user turn."""
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str | None = None, tool_calls: tuple[ToolCall, ...] | list[ToolCall] = ()) -> Message:
        """An assistant turn with text, tool calls, or both."""
        return cls(role="assistant", content=content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool(cls, content: str, *, tool_call_id: str | None = None, name: str | None = None) -> Message:
        """A tool result."""
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)


class Conversation(_CoreModel):
    """A conversation: ordered messages plus the tools the assistant may call.

    A conversation may end on any turn; one with no assistant turn is a prompt (useful for evaluation) and has
    nothing to train on.
    """

    messages: tuple[Message, ...] = Field(min_length=1)
    tools: tuple[Tool, ...] = ()
    id: _Text | None = Field(default=None, description="Identifier of the row this conversation came from.")
    metadata: _StrictObject = Field(default_factory=dict, description="Free-form data kept with the conversation.")

    @model_validator(mode="after")
    def _coherent(self) -> Conversation:
        _check_tool_names(self.tools)
        _check_turn_order(self.messages, {tool.name for tool in self.tools})
        return self

    @property
    def system(self) -> str | None:
        """The system prompt, if the conversation has one."""
        first = self.messages[0]
        return first.content if first.role == "system" else None

    @property
    def tools_by_name(self) -> dict[str, Tool]:
        """The tools, keyed by name."""
        return {tool.name: tool for tool in self.tools}

    def assistant_indices(self) -> list[int]:
        """Positions of the assistant turns."""
        return [i for i, message in enumerate(self.messages) if message.role == "assistant"]


def _check_tool_names(tools: tuple[Tool, ...]) -> None:
    seen: dict[str, int] = {}
    for i, tool in enumerate(tools):
        if tool.name in seen:
            raise DataError(
                f"duplicate tool name {tool.name!r} (also tools[{seen[tool.name]}])",
                field=f"tools[{i}].name",
                hint="give every tool a distinct name",
            )
        seen[tool.name] = i


def _check_turn_order(messages: tuple[Message, ...], tool_names: set[str]) -> None:
    pending: list[ToolCall] = []  # calls of the latest assistant turn not yet answered
    for i, message in enumerate(messages):
        if message.role == "system" and i != 0:
            raise DataError(
                "a system turn may only be the first message",
                field=f"messages[{i}].role",
                hint="merge it into the first system message",
            )
        if message.role == "assistant":
            pending = list(message.tool_calls)
            for j, call in enumerate(message.tool_calls):
                if tool_names and call.name not in tool_names:
                    raise DataError(
                        f"call of tool {call.name!r}, which is not in the conversation's tools "
                        f"({', '.join(sorted(tool_names))})",
                        field=f"messages[{i}].tool_calls[{j}].name",
                        hint="add the tool to 'tools' or fix the name",
                    )
        elif message.role == "tool":
            if not pending:
                raise DataError(
                    "tool result with no preceding assistant tool call",
                    field=f"messages[{i}]",
                    hint="put the assistant turn that made the call before its result",
                )
            pending = _answer(pending, message, i)
        else:
            pending = []


def _answer(pending: list[ToolCall], result: Message, index: int) -> list[ToolCall]:
    """Remove the call that ``result`` answers from ``pending``."""
    if result.tool_call_id is not None and any(call.id is not None for call in pending):
        for k, call in enumerate(pending):
            if call.id == result.tool_call_id:
                return pending[:k] + pending[k + 1 :]
        raise DataError(
            f"tool result answers call id {result.tool_call_id!r}, which no pending call has",
            field=f"messages[{index}].tool_call_id",
            hint="use the id of a call in the preceding assistant turn",
        )
    return pending[1:]
