"""The :class:`ChatFormat` contract and the result of parsing a model's output.

A chat format decides two things and nothing else: how a conversation's tools are presented to the model
(through the system prompt, or through the template's own ``tools=`` support), and what text an assistant turn
is (``render_assistant``), which it must be able to read back (``parse``). Role markers and special tokens are
always written by the tokenizer's own chat template, never by a format.

The round-trip law every format keeps: for every turn it can express, ``parse(render_assistant(turn)).turn ==
turn``, and the rendered text appears verbatim in the templated conversation.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import JsonValue

from slmswap.errors import FormatError, TemplateError
from slmswap.formats.grammar import OutputGrammar
from slmswap.formats.serving import ServingHooks, text_format_preamble
from slmswap.rendering import apply_template, shape_messages, template_shape
from slmswap.schema import Conversation, Message, Tool

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ChatFormat", "ChatInput", "ParseFailure", "ParseResult", "output_grammar"]


class ParseFailure(str, enum.Enum):
    """Why a model's output could not be read as a valid assistant turn."""

    EMPTY = "empty"
    """The output is empty or whitespace."""
    INVALID_JSON = "invalid_json"
    """A JSON body (call arguments, or the answer object) is not valid JSON."""
    NO_TOOL_CALL = "no_tool_call"
    """A call was attempted but not in the format's call syntax (e.g. a bare JSON call without tags)."""
    MALFORMED_CALL = "malformed_call"
    """The call syntax is broken: unclosed or self-closing tag, missing name, wrong keys."""
    UNKNOWN_TOOL = "unknown_tool"
    """A call names a tool that is not offered."""
    BAD_ARGUMENTS = "bad_arguments"
    """Arguments are not a JSON object, or do not satisfy the tool's parameter schema."""
    EXTRA_TEXT = "extra_text"
    """Text where the format allows none (strict mode), e.g. prose after the last call."""
    SCHEMA_MISMATCH = "schema_mismatch"
    """A structured answer does not satisfy the required JSON Schema."""
    BACKEND_ERROR = "backend_error"
    """The backend gave no usable answer (an API error, a malformed answer): nothing was parsed."""


@dataclass(frozen=True)
class ParseResult:
    """What :meth:`ChatFormat.parse` read from a model's output.

    ``turn`` is the assistant turn whenever the syntax could be read, even if a later check failed (an unknown
    tool, arguments that break the schema), so metrics can still score the tool name. ``ok`` is true only when
    there is no ``failure``. ``span`` is the ``(start, end)`` character range of the offending text.
    ``forgiven`` lists what lenient mode overlooked (``"markdown_fence"``, ``"trailing_text"``, ...).
    """

    turn: Message | None
    failure: ParseFailure | None = None
    detail: str = ""
    span: tuple[int, int] | None = None
    forgiven: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the output is a valid assistant turn under the format."""
        return self.failure is None and self.turn is not None


@dataclass(frozen=True)
class ChatInput:
    """What a format hands to ``tokenizer.apply_chat_template``: messages, and tools when the template renders them."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)


class ChatFormat(ABC):
    """How tools and assistant turns are written as text, and read back.

    Subclasses set :attr:`name`, :attr:`version` and :attr:`system_prompt_source`, and implement
    :meth:`render_assistant` and :meth:`parse`; text-based formats present tools through
    :meth:`system_prompt`.
    """

    name: ClassVar[str]
    """Registry name, e.g. ``"hermes"``."""
    version: ClassVar[str] = "1"
    """Bumped whenever the rendered text changes, so a trained adapter can refuse a changed format."""
    system_prompt_source: ClassVar[str]
    """Where the system prompt comes from, in words (shown in reports for prompt parity)."""
    target_from_template: ClassVar[bool] = False
    """Whether the chat template, not the format, writes the assistant text (the native format): the template
    engine then reads the text off the rendered conversation instead of asking :meth:`render_assistant`."""
    needs_tokenizer: ClassVar[bool] = False
    """Whether the constructor takes the model's tokenizer as ``tokenizer=`` (the native format reads its
    template); :func:`~slmswap.formats.resolve_format` hands it over."""
    writes_tool_calls: ClassVar[bool] = True
    """Whether the format can write assistant tool calls (the structured format answers with JSON only)."""

    @property
    def call_syntax(self) -> str | None:
        """The family of call syntax the output uses, by the name serving engines give their parsers for it
        (``"hermes"``: ``<tool_call>`` JSON; ``"llama3"``, ``"mistral"``), or ``None`` for a syntax of its own."""
        return None

    def options(self) -> dict[str, JsonValue]:
        """The constructor arguments this instance was built with (recorded in manifests, so that
        ``get_format(name, **options)`` rebuilds it)."""
        return {}

    @abstractmethod
    def render_assistant(self, turn: Message) -> str:
        """The exact target text of an assistant turn."""

    @abstractmethod
    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        """Read a model's output back into an assistant turn.

        Args:
            text: The generated text, without the template's end-of-turn token.
            tools: The tools offered; when given, unknown tool names and arguments that break a tool's
                parameter schema are reported.
            strict: Strict mode (for scoring) accepts only the exact syntax; lenient mode also strips markdown
                fences and surrounding prose and says what it forgave.
        """

    def render_assistants(self, turns: Sequence[Message]) -> list[str]:
        """:meth:`render_assistant` of several turns (formats that render through the template batch it)."""
        return [self.render_assistant(turn) for turn in turns]

    def system_prompt(self, conversation: Conversation) -> str | None:
        """The system prompt the model sees for ``conversation`` (the conversation's own, by default)."""
        return conversation.system

    def render_tool_result(self, message: Message) -> str:
        """The text of a tool result turn."""
        return message.content or ""

    def output_grammar(self, tools: Sequence[Tool]) -> OutputGrammar | None:
        """The outputs this format accepts when ``tools`` are offered, as a grammar for constrained decoding
        (see :mod:`slmswap.formats.grammar`): every output it allows must parse strictly under :meth:`parse`,
        with only offered tools and declared arguments. ``None`` (the default): the format does not say, and
        its decoding cannot be constrained."""
        return None

    def serving_hooks(self) -> ServingHooks | None:
        """The Jinja this format contributes to an exported chat template (see :mod:`slmswap.formats.serving`);
        ``None`` (the default): the format does not say, and cannot be exported."""
        return None

    def serving_preamble(self) -> str | None:
        """Jinja statements, emitting no text, that set ``slmswap.messages`` from the OpenAI-style ``messages``
        and ``tools`` a server receives, exactly as :meth:`chat_input` builds them from a conversation
        (``None``: the format cannot be exported). Built from :meth:`serving_hooks`; a format whose messages
        the chat template receives as they are (``native``) returns ``""``."""
        hooks = self.serving_hooks()
        return None if hooks is None else text_format_preamble(hooks)

    def serving_tools(self) -> bool:
        """Whether the chat template itself still receives ``tools`` (only a format that lets the template
        render them); text formats write tools into the system prompt."""
        return False

    def response_fields(self, content_close: str) -> dict[str, Any] | None:
        """The ``fields`` of a transformers ``response_template`` that read this format's output into
        ``content`` and ``tool_calls``; ``content_close`` is the regex that ends the turn. ``None`` (the
        default): the format does not say, and cannot be exported."""
        return None

    def check(self, conversation: Conversation) -> None:
        """Raise :class:`~slmswap.errors.FormatError` if the format cannot express ``conversation``."""
        for index in conversation.assistant_indices():
            self.render_assistant(conversation.messages[index])

    def chat_input(self, conversation: Conversation) -> ChatInput:
        """The messages (and tools) to hand to ``apply_chat_template`` for ``conversation``."""
        messages: list[dict[str, Any]] = []
        system = self.system_prompt(conversation)
        if system is not None:
            messages.append({"role": "system", "content": system})
        for message in conversation.messages:
            if message.role == "system":
                continue
            if message.role == "assistant":
                messages.append({"role": "assistant", "content": self.render_assistant(message)})
            elif message.role == "tool":
                messages.append({"role": "tool", "content": self.render_tool_result(message)})
            else:
                messages.append({"role": message.role, "content": message.content})
        return ChatInput(messages=messages)

    def render(
        self,
        tokenizer: PreTrainedTokenizerBase,
        conversation: Conversation,
        *,
        add_generation_prompt: bool = False,
    ) -> str:
        """``conversation`` rendered through the tokenizer's own chat template."""
        chat = self.chat_input(conversation)
        messages = shape_messages(chat.messages, template_shape(tokenizer))
        try:
            return apply_template(tokenizer, messages, chat.tools, add_generation_prompt=add_generation_prompt)
        except TemplateError as exc:
            raise FormatError(f"{exc} (format {self.name!r})") from exc

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self.options().items())
        return f"{type(self).__name__}({options})"


def output_grammar(fmt: ChatFormat, tools: Sequence[Tool]) -> OutputGrammar:
    """``fmt``'s grammar for ``tools``, or :class:`~slmswap.errors.FormatError` when the format cannot say."""
    grammar = fmt.output_grammar(tools)
    if grammar is None:
        raise FormatError(
            f"format {fmt.name!r} provides no output grammar, so its decoding cannot be constrained; evaluate "
            "without constrained decoding, or use a format that provides one (hermes, xml, cep, structured)"
        )
    return grammar
