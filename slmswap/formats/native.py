"""The model's native tool format: whatever its own chat template does with ``tools=`` and ``tool_calls``.

Tools go to ``apply_chat_template(tools=...)`` and assistant calls stay structured ``tool_calls``; the template
decides how both look. The assistant target text is therefore read off the template itself. Parsing uses the
tokenizer's response template (``tokenizer.parse_response``, transformers ≥ 5.13) when it has one, else a parser
for the template's family:

``hermes``
    Qwen 2.5/3, Hermes, GLM: ``<tool_call>{"name": ..., "arguments": ...}</tool_call>``;
``llama3``
    Llama 3.1/3.2/3.3: ``{"name": ..., "parameters": ...}`` (optionally after ``<|python_tag|>``);
``mistral``
    ``[TOOL_CALLS][{"name": ..., "arguments": ...}, ...]``.

A template that silently drops ``tools`` or ``tool_calls`` (the basic Llama 3 or SmolLM2 templates) is detected
when the format is built, with an error that suggests the ``hermes`` format.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from pydantic import JsonValue

from slmswap.errors import FormatError, TemplateError
from slmswap.formats._scan import ParseStopError, as_arguments, check_calls, make_call, without_reasoning
from slmswap.formats.base import ChatFormat, ChatInput, ParseFailure, ParseResult
from slmswap.formats.grammar import OutputGrammar
from slmswap.formats.hermes import HermesFormat, hermes_grammar
from slmswap.formats.serving import hermes_call_fields
from slmswap.rendering import apply_template, render_batch
from slmswap.schema import Conversation, Message, Tool, ToolCall

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["NativeFormat", "ToolFamily", "detect_family"]

ToolFamily = Literal["hermes", "llama3", "mistral"]
"""The call syntaxes the native format can read without a response template."""

_PROBE_TOOL = "slmswap_probe_tool"
_PROBE_CALL = "slmswap_probe_call"
_SENTINEL = "slmswap-end-of-turn-probe"
_PROBE_USER = {"role": "user", "content": "hi"}
_DECODER = json.JSONDecoder()


def detect_family(chat_template: str) -> ToolFamily | None:
    """The call syntax a chat template writes, guessed from its text."""
    if "<tool_call>" in chat_template and "<arg_key>" not in chat_template:  # GLM writes its own syntax in the tag
        return "hermes"
    if "[TOOL_CALLS]" in chat_template:
        return "mistral"
    if '"parameters"' in chat_template:
        return "llama3"
    return None


def _call_dict(call: ToolCall, string_arguments: bool) -> dict[str, Any]:
    arguments = json.dumps(call.arguments, ensure_ascii=False) if string_arguments else call.arguments
    entry: dict[str, Any] = {"type": "function", "function": {"name": call.name, "arguments": arguments}}
    if call.id is not None:
        entry["id"] = call.id
    return entry


def _message_dict(message: Message, string_arguments: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": message.role, "content": message.content or ""}
    if message.tool_calls:
        entry["tool_calls"] = [_call_dict(call, string_arguments) for call in message.tool_calls]
    if message.tool_call_id is not None:
        entry["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        entry["name"] = message.name
    return entry


class NativeFormat(ChatFormat):
    """Tools and calls rendered by the tokenizer's own chat template."""

    name: ClassVar[str] = "native"
    version: ClassVar[str] = "1"
    target_from_template: ClassVar[bool] = True
    needs_tokenizer: ClassVar[bool] = True
    system_prompt_source: ClassVar[str] = (
        "the conversation's own system prompt; the chat template adds the tool listing (send the same tools to an "
        "LLM baseline through its API's tools parameter)"
    )

    def __init__(self, tokenizer: PreTrainedTokenizerBase, parser: ToolFamily | Literal["auto"] = "auto") -> None:
        if not hasattr(tokenizer, "apply_chat_template"):
            raise FormatError(
                "the native format needs the model's tokenizer (a transformers tokenizer, e.g. "
                f"slmswap.load_tokenizer(model)), got {type(tokenizer).__name__}: {tokenizer!r:.60}"
            )
        families = ("auto", *get_args(ToolFamily))
        if parser not in families:
            raise FormatError(f"unknown native parser {parser!r}; expected one of {', '.join(families)}")
        self.tokenizer = tokenizer
        self.parser = parser
        template = tokenizer.chat_template
        if not isinstance(template, str):
            raise FormatError("the tokenizer has no chat template; the native format needs one")
        self._string_arguments = self._check_template_renders_tools()
        self.family: ToolFamily | None = detect_family(template) if parser == "auto" else parser
        # The model's own response template wins; then our JSON-aware family parsers; then TRL's known templates.
        self._response_template = getattr(tokenizer, "response_template", None)
        if self._response_template is None and self.family is None:
            self._response_template = _known_response_template(tokenizer)
        if self.family is None and self._response_template is None:
            raise FormatError(
                "no parser is known for this chat template's tool calls and the tokenizer has no response "
                "template; pass parser='hermes'|'llama3'|'mistral', or use get_format('hermes')"
            )
        self._probe_prompt = self._apply([_PROBE_USER], None, generation=True)
        self._end_of_turn = self._turn_suffix()

    def options(self) -> dict[str, JsonValue]:
        """``{"parser": ...}`` as given (``"auto"``: the family read off the template, kept in ``family``)."""
        return {"parser": self.parser}

    def _apply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, generation: bool) -> str:
        try:
            return apply_template(self.tokenizer, messages, tools, add_generation_prompt=generation)
        except TemplateError as exc:
            raise FormatError(f"{exc} (native format)") from exc

    def _check_template_renders_tools(self) -> bool:
        """Check that the template renders tools and calls; return whether it wants arguments as JSON strings."""
        tool = Tool(name=_PROBE_TOOL, parameters={"type": "object", "properties": {"x": {"type": "string"}}})
        turn = Message.assistant(tool_calls=[ToolCall(name=_PROBE_CALL, arguments={"x": "y"})])
        failure: FormatError | None = None
        # Most templates take arguments as a dict; some (DeepSeek V3) concatenate them as a JSON string.
        for string_arguments in (False, True):
            messages = [{"role": "user", "content": "hi"}, _message_dict(turn, string_arguments)]
            try:
                text = self._apply(messages, [tool.to_openai()], generation=False)
                break
            except FormatError as exc:
                failure = failure or exc
        else:
            raise FormatError(f"{failure}; this template cannot render tool calls: use get_format('hermes')")
        dropped = [what for what, name in (("tools", _PROBE_TOOL), ("tool_calls", _PROBE_CALL)) if name not in text]
        if dropped:
            raise FormatError(
                f"this tokenizer's chat template silently drops {' and '.join(dropped)}; the native format would "
                "train on conversations with the calls missing. Use get_format('hermes') (or 'xml'/'cep'), which "
                "write tools and calls as text the template keeps"
            )
        return string_arguments

    def _turn_suffix(self) -> str:
        """What the template writes after an assistant turn's text (end-of-turn token, newline)."""
        return self._assistant_texts([Message.assistant(content=_SENTINEL)])[0].partition(_SENTINEL)[2]

    def _assistant_texts(self, turns: Sequence[Message]) -> list[str]:
        probes = [[_PROBE_USER, _message_dict(turn, self._string_arguments)] for turn in turns]
        try:
            rendered = render_batch(self.tokenizer, probes, None, add_generation_prompt=False)
        except TemplateError as exc:
            raise FormatError(f"{exc} (native format)") from exc
        texts = []
        for full in rendered:
            if not full.startswith(self._probe_prompt):
                raise FormatError(
                    "the chat template renders the assistant turn in a way that does not extend the generation "
                    "prompt; its assistant text cannot be isolated (use get_format('hermes'))"
                )
            texts.append(full[len(self._probe_prompt) :])
        return texts

    def chat_input(self, conversation: Conversation) -> ChatInput:
        """Structured messages and ``tools=`` for the template."""
        tools = [t.to_openai() for t in conversation.tools] or None
        return ChatInput(
            messages=[_message_dict(m, self._string_arguments) for m in conversation.messages], tools=tools
        )

    def render_assistant(self, turn: Message) -> str:
        """The text the chat template writes for ``turn``, without its end-of-turn suffix."""
        return self.render_assistants([turn])[0]

    def render_assistants(self, turns: Sequence[Message]) -> list[str]:
        """:meth:`render_assistant` of several turns, in one template call."""
        suffix = self._end_of_turn
        return [t[: -len(suffix)] if suffix and t.endswith(suffix) else t for t in self._assistant_texts(turns)]

    @property
    def call_syntax(self) -> str | None:
        """The template's family (``family``: read off the template, or the parser given)."""
        return self.family

    def output_grammar(self, tools: Sequence[Tool]) -> OutputGrammar | None:
        """The Hermes grammar for a template of the Hermes family read with slmswap's parser; ``None`` (not
        constrained) for the other families and for templates read with a response template."""
        if self.family == "hermes" and self._response_template is None:
            return hermes_grammar(tools)
        return None

    def serving_preamble(self) -> str:
        """Nothing: the chat template receives the OpenAI messages and tools as they are."""
        return ""

    def serving_tools(self) -> bool:
        """The chat template renders the tools itself."""
        return True

    def response_fields(self, content_close: str) -> dict[str, Any] | None:
        """The hermes family's fields (a response template the tokenizer or TRL provides is used whole by export,
        see :attr:`response_template`); ``None`` for the other families."""
        return hermes_call_fields(content_close) if self.family == "hermes" else None

    @property
    def response_template(self) -> Any:
        """The response template a server should read this template's output with: the tokenizer's own, else
        the one TRL ships for this exact template, else ``None``."""
        return self._response_template or _known_response_template(self.tokenizer)

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        """Through the tokenizer's response template when it has one, else the family's parser."""
        if self._response_template is not None:
            return self._parse_with_response_template(text, tools)
        text = without_reasoning(text)
        if self.family == "hermes":
            return HermesFormat().parse(text, tools=tools, strict=strict)
        forgiven: list[str] = []
        try:
            turn = _parse_llama3(text, strict, forgiven) if self.family == "llama3" else _parse_mistral(text)
        except ParseStopError as failed:
            return ParseResult(None, failed.failure, failed.detail, failed.span, tuple(forgiven))
        return check_calls(turn, tools, tuple(forgiven))

    def _parse_with_response_template(self, text: str, tools: Sequence[Tool]) -> ParseResult:
        try:
            offered: list[dict[Any, Any] | Callable[..., Any]] | None = [t.to_openai() for t in tools] or None
            parsed = self.tokenizer.parse_response(text, schema=self._response_template, prefix="", tools=offered)
            calls = [_parsed_call(c) for c in parsed.get("tool_calls") or []]
            turn = Message.assistant(content=(parsed.get("content") or "").strip() or None, tool_calls=calls)
        except Exception as exc:  # the response parser raises whatever its regexes and json.loads raise
            return ParseResult(None, ParseFailure.MALFORMED_CALL, f"response template could not parse: {exc}")
        return check_calls(turn, tools)


def _known_response_template(tokenizer: PreTrainedTokenizerBase) -> Any:
    """The response template TRL knows for the tokenizer's chat template, or ``None``."""
    from trl.chat_template_utils import add_response_schema

    probe = copy.copy(tokenizer)  # add_response_schema sets an attribute: keep the caller's tokenizer untouched
    try:
        add_response_schema(probe)
    except ValueError:  # not a template TRL knows
        return None
    return getattr(probe, "response_template", None)


def _parsed_call(entry: dict[str, Any]) -> ToolCall:
    function = entry.get("function", entry)
    return ToolCall(name=function["name"], arguments=function.get("arguments") or {})


def _parse_llama3(text: str, strict: bool, forgiven: list[str]) -> Message:
    body = text.strip()
    if body.startswith("<|python_tag|>"):
        body = body[len("<|python_tag|>") :].lstrip()
    if not body:
        raise ParseStopError(ParseFailure.EMPTY, "the output is empty", (0, len(text)))
    if not body.startswith("{"):
        return Message.assistant(content=body)
    try:
        value, end = _DECODER.raw_decode(body)
    except (ValueError, RecursionError) as exc:
        raise ParseStopError(ParseFailure.INVALID_JSON, f"invalid JSON call: {exc}", (0, len(text))) from None
    span = (0, len(text))
    if body[end:].strip():
        if strict:
            raise ParseStopError(ParseFailure.EXTRA_TEXT, "text after the JSON call", span)
        forgiven.append("trailing_text")
    if not isinstance(value, dict) or "name" not in value:
        raise ParseStopError(ParseFailure.MALFORMED_CALL, 'a call needs "name" and "parameters"', span)
    arguments = value.get("parameters", value.get("arguments", {}))
    return Message.assistant(
        tool_calls=[
            make_call(value["name"], as_arguments(arguments, strict=strict, forgiven=forgiven, span=span), span)
        ]
    )


def _parse_mistral(text: str) -> Message:
    head, marker, rest = text.partition("[TOOL_CALLS]")
    if not marker:
        stripped = text.strip()
        if not stripped:
            raise ParseStopError(ParseFailure.EMPTY, "the output is empty", (0, len(text)))
        return Message.assistant(content=stripped)
    span = (len(head), len(text))
    try:
        value = json.loads(rest)
    except (ValueError, RecursionError) as exc:
        raise ParseStopError(ParseFailure.INVALID_JSON, f"invalid JSON after [TOOL_CALLS]: {exc}", span) from None
    if not isinstance(value, list) or not all(isinstance(v, dict) and "name" in v for v in value):
        raise ParseStopError(ParseFailure.MALFORMED_CALL, "[TOOL_CALLS] must be followed by a list of calls", span)
    calls = [
        make_call(v["name"], as_arguments(v.get("arguments", {}), strict=True, forgiven=[], span=span), span)
        for v in value
    ]
    return Message.assistant(content=head.strip() or None, tool_calls=calls)
