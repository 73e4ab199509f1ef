"""Isolation of third-party formats: a plugin that raises while building or using a format is reported by
name, with a warning, as a :class:`~slmswap.errors.FormatError` (or, from ``parse``, as a failed parse), so
one broken plugin cannot take down a training or evaluation run with an unexplained traceback.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from slmswap.errors import FormatError, SlmswapError
from slmswap.formats.base import ChatFormat, ChatInput, ParseFailure, ParseResult
from slmswap.formats.grammar import OutputGrammar
from slmswap.formats.serving import ServingHooks
from slmswap.schema import Conversation, Message, Tool

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["GuardedFormat"]


class GuardedFormat(ChatFormat):
    """A plugin's format, with every call isolated (see the module docstring)."""

    def __init__(self, inner: ChatFormat, source: str) -> None:
        self.inner = inner
        self.source = source
        self.name = inner.name  # type: ignore[misc]  # per-instance: mirrors the plugin
        self.version = inner.version  # type: ignore[misc]
        self.system_prompt_source = inner.system_prompt_source  # type: ignore[misc]
        self.target_from_template = inner.target_from_template  # type: ignore[misc]
        self.needs_tokenizer = inner.needs_tokenizer  # type: ignore[misc]
        self.writes_tool_calls = inner.writes_tool_calls  # type: ignore[misc]

    def _failed(self, method: str, exc: Exception) -> FormatError:
        message = f"format {self.inner.name!r} ({self.source}) raised in {method}: {type(exc).__name__}: {exc}"
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return FormatError(message)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.inner, method)(*args, **kwargs)
        except SlmswapError:
            raise  # a documented refusal (e.g. a turn the format cannot write) is not a plugin failure
        except Exception as exc:
            raise self._failed(method, exc) from exc

    def options(self) -> dict[str, JsonValue]:
        """The plugin's options."""
        result: dict[str, JsonValue] = self._call("options")
        return result

    @property
    def call_syntax(self) -> str | None:
        """The plugin's call syntax."""
        result: str | None = self._call("__getattribute__", "call_syntax")
        return result

    def output_grammar(self, tools: Sequence[Tool]) -> OutputGrammar | None:
        """The plugin's output grammar."""
        result: OutputGrammar | None = self._call("output_grammar", tools)
        return result

    def serving_hooks(self) -> ServingHooks | None:
        """The plugin's serving hooks."""
        result: ServingHooks | None = self._call("serving_hooks")
        return result

    def serving_preamble(self) -> str | None:
        """The plugin's serving preamble."""
        result: str | None = self._call("serving_preamble")
        return result

    def serving_tools(self) -> bool:
        """Whether the plugin lets the template render tools."""
        result: bool = self._call("serving_tools")
        return result

    def response_fields(self, content_close: str) -> dict[str, Any] | None:
        """The plugin's response-template fields."""
        result: dict[str, Any] | None = self._call("response_fields", content_close)
        return result

    def render_assistant(self, turn: Message) -> str:
        """The plugin's target text."""
        result: str = self._call("render_assistant", turn)
        return result

    def render_assistants(self, turns: Sequence[Message]) -> list[str]:
        """The plugin's target texts."""
        result: list[str] = self._call("render_assistants", turns)
        return result

    def parse(self, text: str, *, tools: Sequence[Tool] = (), strict: bool = True) -> ParseResult:
        """The plugin's parse; should it raise, a failed parse that says so."""
        try:
            result: Any = self.inner.parse(text, tools=tools, strict=strict)  # a plugin may return anything
        except Exception as exc:
            return ParseResult(None, ParseFailure.MALFORMED_CALL, str(self._failed("parse", exc)))
        if not isinstance(result, ParseResult) or not (result.turn is None or isinstance(result.turn, Message)):
            got = type(result.turn if isinstance(result, ParseResult) else result).__name__
            problem = TypeError(f"parse must return a ParseResult holding a Message or None, got {got}")
            return ParseResult(None, ParseFailure.MALFORMED_CALL, str(self._failed("parse", problem)))
        return result

    def system_prompt(self, conversation: Conversation) -> str | None:
        """The plugin's system prompt."""
        result: str | None = self._call("system_prompt", conversation)
        return result

    def render_tool_result(self, message: Message) -> str:
        """The plugin's tool-result text."""
        result: str = self._call("render_tool_result", message)
        return result

    def check(self, conversation: Conversation) -> None:
        """The plugin's check."""
        self._call("check", conversation)

    def chat_input(self, conversation: Conversation) -> ChatInput:
        """The plugin's chat input."""
        result: ChatInput = self._call("chat_input", conversation)
        return result

    def render(
        self, tokenizer: PreTrainedTokenizerBase, conversation: Conversation, *, add_generation_prompt: bool = False
    ) -> str:
        """Rendered through the template, from the plugin's chat input."""
        return super().render(tokenizer, conversation, add_generation_prompt=add_generation_prompt)

    def __repr__(self) -> str:
        return f"GuardedFormat({self.inner!r}, source={self.source!r})"
