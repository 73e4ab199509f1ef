"""The backend contract: what every backend (a local transformers model, vLLM, an OpenAI-compatible API) takes
and returns. A backend is anything with ``generate(prompts) -> list[Generation]``; :func:`~slmswap.evaluate`
takes that method (a :data:`Generate`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from slmswap._json import valid_text
from slmswap.errors import ConfigError
from slmswap.formats.base import ChatInput
from slmswap.formats.grammar import OutputGrammar
from slmswap.schema import Conversation, ToolCall

__all__ = ["Backend", "Generate", "Generation", "Prompt", "refuse_grammars"]


@dataclass(frozen=True)
class Prompt:
    """One prompt, as rendered text for a local model and as chat messages for an API, both from the same
    format: the API receives exactly the messages (system prompt included) the local model saw."""

    text: str
    """Rendered through the tokenizer's chat template, generation prompt included."""
    chat: ChatInput
    """The format's messages (and tools, for the native format) before the template renders them."""
    conversation: Conversation | None = None
    """The conversation up to the answer, as an application holds it: what a served swap is sent (its server
    renders the format; see :func:`slmswap.export`)."""
    grammar: OutputGrammar | None = None
    """What the answer may be, for constrained decoding (``evaluate(..., constrained=True)`` sets it): a
    backend given a grammar decodes within it, or refuses the prompt; ``None``: unconstrained."""


@dataclass(frozen=True)
class Generation:
    """One generated answer."""

    text: str
    """The model's output, cut before the first stop marker."""
    tokens: int
    """Tokens generated (stop token included)."""
    seconds: float
    """Wall time of the batch it was generated in, divided by the batch size."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Calls an API returned natively (in its ``tool_calls`` field) rather than in the text."""
    prompt_tokens: int | None = None
    """The prompt's length in tokens, as a server counted it (``None`` when not reported)."""
    threads: int | None = None
    """The torch CPU threads it was generated with (at the end of its batch: the count follows the free cores,
    see ``slmswap._threads``); ``None`` where no local CPU model generated it."""
    error: str | None = None
    """Why the backend gave no usable answer for this prompt (an API error or a malformed answer): the example
    is recorded as failed (``backend_error``) and the evaluation goes on."""

    def with_valid_text(self) -> Generation:
        """This answer with its ``text`` and ``error`` made valid Unicode text (a lone surrogate, which a
        ``Generate`` function may return but no UTF-8 text can hold, becomes U+FFFD); itself when they are."""
        text = valid_text(self.text)
        error = valid_text(self.error) if self.error is not None else None
        if text == self.text and error == self.error:
            return self
        return dataclasses.replace(self, text=text, error=error)


def refuse_grammars(prompts: Sequence[Prompt | str], backend: str) -> None:
    """Raise :class:`~slmswap.errors.ConfigError` when a prompt carries a grammar: ``backend`` cannot hold its
    decoding to one, and an answer decoded freely must not be recorded as constrained."""
    if any(isinstance(prompt, Prompt) and prompt.grammar is not None for prompt in prompts):
        raise ConfigError(
            f"{backend} cannot constrain decoding to the format's grammar; evaluate constrained with a local "
            "model (the transformers backend)"
        )


Generate = Callable[[Sequence[Prompt]], list[Generation]]
"""Turns prompts into answers, in order: a backend's ``generate`` method, or any function of that shape."""


class Backend(Protocol):
    """What :class:`~slmswap.TransformersBackend`, :class:`~slmswap.VLLMBackend` and
    :class:`~slmswap.OpenAIBackend` have in common."""

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        """Answers to ``prompts``, in the given order."""
