"""Constrained decoding for the transformers backend: each prompt's :class:`~slmswap.formats.grammar.OutputGrammar`
compiled with llguidance (extra ``constrained``) and applied through a transformers logits processor.

Every row of a batch has its own matcher. At each step the matcher reads the token its row generated last,
and the next token's logits are masked to what the grammar allows there. The prompt (left padding included) is
never fed to a matcher: the first call only marks where generation starts. Any of the template's stop tokens
ends a row whose output the grammar accepts, and only then; a row that has stopped is left alone (``generate``
pads it). Rows without a grammar are not constrained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slmswap.errors import ConfigError, FormatError
from slmswap.formats.grammar import OutputGrammar

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

__all__ = ["GrammarConstraint", "GrammarProcessor"]

_INSTALL = "constrained decoding needs the 'constrained' extra (llguidance): pip install 'slmswap[constrained]'"


def _llguidance() -> Any:
    try:
        import llguidance
        import llguidance.hf
        import llguidance.torch
    except ImportError as exc:
        raise ConfigError(_INSTALL) from exc
    return llguidance


class GrammarConstraint:
    """Output grammars compiled for one tokenizer, and the logits processor of each batch.

    Args:
        tokenizer: The model's (fast) tokenizer.
        stop_ids: The tokens that end a turn: the grammar's end of output.
        vocab_size: Width of the model's logits (may exceed the tokenizer's vocabulary).
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stop_ids: Sequence[int], vocab_size: int) -> None:
        if not stop_ids:
            raise ConfigError("constrained decoding needs the template's end-of-turn token, and this one has none")
        self._ll = _llguidance()
        self.stop_ids = list(stop_ids)
        self.vocab_size = vocab_size
        try:
            self._tokenizer = self._ll.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=self.stop_ids)
        except ValueError as exc:  # a slow (Python) tokenizer
            raise ConfigError(f"constrained decoding needs a fast tokenizer: {exc}") from exc
        self._compiled: dict[str, str] = {}

    def compile(self, grammar: OutputGrammar) -> str:
        """``grammar`` in llguidance's form, checked the first time (:class:`~slmswap.errors.FormatError` when
        llguidance refuses it, e.g. a parameter schema it cannot express)."""
        lark = grammar.to_lark()
        compiled = self._compiled.get(lark)
        if compiled is None:
            compiled = self._ll.LLMatcher.grammar_from_lark(lark)
            error = self._ll.LLMatcher.validate_grammar(compiled, self._tokenizer)
            if error:
                raise FormatError(f"llguidance cannot compile the output grammar: {error}")
            self._compiled[lark] = compiled
        return compiled

    def matcher(self, grammar: OutputGrammar) -> Any:
        """A fresh ``llguidance.LLMatcher`` at the start of ``grammar``."""
        return self._ll.LLMatcher(self._tokenizer, self.compile(grammar), log_level=0)

    def processors(self, grammars: Sequence[OutputGrammar | None]) -> Any:
        """The ``logits_processor`` argument of one ``generate`` call whose rows follow ``grammars``
        (``None``: free): a ``LogitsProcessorList`` holding one :class:`GrammarProcessor`."""
        from transformers import LogitsProcessorList

        return LogitsProcessorList([GrammarProcessor(self, [None if g is None else self.matcher(g) for g in grammars])])


class GrammarProcessor:
    """A transformers logits processor (``(input_ids, scores) -> scores``) with one matcher per row; use it for
    one ``generate`` call."""

    def __init__(self, constraint: GrammarConstraint, matchers: Sequence[Any]) -> None:
        import torch

        self._ll = constraint._ll
        self._stop_ids = set(constraint.stop_ids)
        self._matchers = list(matchers)
        self._active = [matcher is not None for matcher in self._matchers]
        self._started = False
        self._bitmask = torch.full(self._ll.torch.get_bitmask_shape(len(matchers), constraint.vocab_size), -1)
        self._bitmask = self._bitmask.to(torch.int32)
        self._bits = torch.arange(32, dtype=torch.int32)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self._started:
            self._consume(input_ids[:, -1].tolist())
        self._started = True
        if not any(self._active):
            return scores
        self._bitmask.fill_(-1)
        for row, matcher in enumerate(self._matchers):
            if self._active[row]:
                self._ll.torch.fill_next_token_bitmask(matcher, self._bitmask, row)
        allowed = ((self._bitmask.unsqueeze(-1) >> self._bits) & 1).flatten(1)[:, : scores.shape[-1]]
        return scores.masked_fill(allowed.to(scores.device) == 0, float("-inf"))

    def _consume(self, tokens: list[int]) -> None:
        for row, token in enumerate(tokens):
            if not self._active[row]:
                continue
            matcher = self._matchers[row]
            if token in self._stop_ids:
                self._active[row] = False  # the row has ended (its grammar allowed it): generate pads it from here
            elif not matcher.consume_token(token):
                raise FormatError(f"a constrained row left its grammar: {matcher.get_error()}")
