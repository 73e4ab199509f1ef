"""The transformers backend: batched greedy generation with a local model, on prompts rendered exactly as in training.

Prompts are tokenized without added special tokens (the template writes them), sorted by length so each batch
pads little, left-padded, and decoded greedily until the template's end-of-turn token or EOS. By default a batch
holds as many prompts as fit a memory budget for the attention cache (so a few dozen short prompts go in one
``generate`` call). The output is decoded with special tokens kept (a tool-call tag may be one) and cut at the
first stop marker. Generation runs as a CPU phase (``slmswap._threads.cpu_phase``): the torch thread count
starts from the free cores and is re-checked before every layer's forward pass (prefill and each decoded token),
unless ``threads`` pins it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slmswap._threads import cpu_phase
from slmswap.evaluation.backend import Generation, Prompt
from slmswap.formats.grammar import OutputGrammar
from slmswap.templates.spans import special_token_pattern, template_layout

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from slmswap.evaluation.constrained import GrammarConstraint

__all__ = ["CACHE_BUDGET", "TransformersBackend", "stop_markers"]

CACHE_BUDGET = 1 << 29
"""Bytes of attention cache a batch may take by default when the batch size is not given (512 MiB: on the
demo's 40 prompts two batches instead of one, 4 % slower and 0.6 GB less peak memory, the same answers)."""


def stop_markers(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The strings that end an assistant turn: the template's end-of-turn marker, EOS (and pad if distinct)."""
    layout = template_layout(tokenizer)
    markers = [piece for piece in layout.tail_pieces if piece.strip()][:1]
    for token in (tokenizer.eos_token, tokenizer.pad_token):
        if isinstance(token, str) and token and token not in markers:
            markers.append(token)
    return markers


class TransformersBackend:
    """Greedy, batched, length-sorted generation with a causal language model.

    Args:
        model: The model (its adapter applied, if any), in eval mode.
        tokenizer: Its tokenizer.
        batch_size: Prompts per ``generate`` call; ``None``: as many as keep the attention cache of the batch
            (its prompts and ``max_new_tokens`` answers) within ``cache_budget``.
        max_new_tokens: Longest answer.
        cache_budget: Bytes of attention cache a batch may take when ``batch_size`` is ``None``.
        threads: Torch CPU threads to generate with (``None``: the free cores, followed while generating; see
            ``slmswap._threads``).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        batch_size: int | None = None,
        max_new_tokens: int = 256,
        cache_budget: int = CACHE_BUDGET,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.threads = threads
        self.cache_budget = cache_budget
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.markers = stop_markers(tokenizer)
        specials = special_token_pattern(tokenizer)
        stop_ids = set()
        for marker in self.markers:
            ids = tokenizer(marker, add_special_tokens=False)["input_ids"]
            if specials.fullmatch(marker) and len(ids) == 1:
                stop_ids.add(ids[0])
        self._stop_ids = sorted(stop_ids)
        self._constraint: GrammarConstraint | None = None

    def generate(self, prompts: Sequence[Prompt | str]) -> list[Generation]:
        """Answers to ``prompts`` (rendered chat prompts, generation prompt included), in the given order."""
        import torch

        texts = [p.text if isinstance(p, Prompt) else p for p in prompts]
        grammars = [p.grammar if isinstance(p, Prompt) else None for p in prompts]
        encoded = [self.tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        results: dict[int, Generation] = {}
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with cpu_phase(self.threads, name="evaluation") as policy, policy.watching(self.model):
            for batch in self._batches(order, [len(ids) for ids in encoded]):
                width = max(len(encoded[i]) for i in batch)
                ids = torch.tensor([[pad] * (width - len(encoded[i])) + encoded[i] for i in batch])
                mask = torch.tensor([[0] * (width - len(encoded[i])) + [1] * len(encoded[i]) for i in batch])
                started = time.perf_counter()
                with torch.no_grad():
                    output = self.model.generate(  # type: ignore[operator]
                        input_ids=ids,
                        attention_mask=mask,
                        max_new_tokens=self.max_new_tokens,
                        do_sample=False,
                        eos_token_id=self._stop_ids or None,
                        pad_token_id=pad,
                        logits_processor=self._constraints([grammars[i] for i in batch]),
                    )
                seconds = (time.perf_counter() - started) / len(batch)
                for row, index in enumerate(batch):
                    results[index] = self._generation(output[row, width:].tolist(), seconds, policy.threads)
        return [results[i] for i in range(len(prompts))]

    def _constraints(self, grammars: list[OutputGrammar | None]) -> Any:
        """The ``logits_processor`` that holds each row to its prompt's grammar (``None``: no row has one)."""
        if all(grammar is None for grammar in grammars):
            return None
        if self._constraint is None:
            from slmswap.evaluation.constrained import GrammarConstraint

            self._constraint = GrammarConstraint(self.tokenizer, self._stop_ids, int(self.model.config.vocab_size))
        return self._constraint.processors(grammars)

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """``order`` (shortest prompt first) cut into batches: ``batch_size`` each, or as many as fit the cache
        budget (at least one)."""
        if self.batch_size is not None:
            return [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        per_token = _cache_bytes_per_token(self.model)
        batches: list[list[int]] = []
        for index in order:  # lengths only grow along the order, so the newest prompt sets the width
            width = lengths[index] + self.max_new_tokens
            if batches and (len(batches[-1]) + 1) * width * per_token <= self.cache_budget:
                batches[-1].append(index)
            else:
                batches.append([index])
        return batches

    def _generation(self, new_ids: list[int], seconds: float, threads: int) -> Generation:
        tokens = len(new_ids)
        for j, token in enumerate(new_ids):
            if token in self._stop_ids:
                tokens = j + 1
                break
        text: Any = self.tokenizer.decode(new_ids[:tokens], skip_special_tokens=False)
        cut = min((i for i in (text.find(m) for m in self.markers) if i >= 0), default=len(text))
        return Generation(text=str(text)[:cut], tokens=tokens, seconds=seconds, threads=threads)


def _cache_bytes_per_token(model: Any) -> int:
    """Bytes the attention cache holds per token of one row: keys and values of every layer (a full-width
    estimate when the configuration does not say how the heads are shaped)."""
    config = model.config.get_text_config()
    layers = int(getattr(config, "num_hidden_layers", 32))
    heads = int(getattr(config, "num_attention_heads", 32))
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or getattr(config, "hidden_size", 4096) // heads)
    item = int(next(iter(model.parameters())).element_size())
    return 2 * layers * kv_heads * head_dim * item
