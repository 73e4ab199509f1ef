"""The transformers backend: batched greedy generation with a local model, on prompts rendered exactly as in training.

Prompts are tokenized without added special tokens (the template writes them), sorted by length so each batch
pads little, left-padded, and decoded greedily until the template's end-of-turn token or EOS. By default a batch
holds as many prompts as fit a memory budget for the attention cache (so a few dozen short prompts go in one
batch). The backend's own greedy loop gives ``model.generate``'s answers token for token (the same logits
processors and argmax; ``tests/evaluation/test_generation.py`` checks it) in less time:

- each prompt is prefilled alone, without padding, after the longest prefix it shares with the batch's prompt
  before it in lexical order, whose keys and values are copied rather than recomputed (prompts of one format
  share the system prompt and often the tool list: a third of the demo's prompt tokens);
- a row leaves the batch when it ends, and the attention cache grows in place instead of being copied at every
  step (``benchmarks/generate.py`` measures both against ``generate``).

A model whose cache has sliding-window layers is prefilled as one left-padded batch. The output is decoded with
special tokens kept (a tool-call tag may be one) and cut at the first stop marker. Generation runs as a CPU phase
(``slmswap._threads.cpu_phase``): the torch thread count starts from the free cores and is re-checked before
every layer's forward pass (prefill and each decoded token), unless ``threads`` pins it.
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
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from slmswap.evaluation.constrained import GrammarConstraint

__all__ = ["CACHE_BUDGET", "TransformersBackend", "stop_markers"]

CACHE_BUDGET = 1 << 30
"""Bytes of attention cache a batch may take by default when the batch size is not given (1 GiB: the demo's 40
prompts in one batch, which decodes 1.3x faster than two batches under 512 MiB with the same answers, for 0.63
GB more peak memory; ``cache_budget`` lowers it)"""


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
        batch_size: Prompts per batch; ``None``: as many as keep the attention cache of the batch
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
                    answers = self._decode(ids, mask, self._constraints([grammars[i] for i in batch]))
                seconds = (time.perf_counter() - started) / len(batch)
                for row, index in enumerate(batch):
                    results[index] = self._generation(answers[row], seconds, policy.threads)
        return [results[i] for i in range(len(prompts))]

    def _decode(self, ids: torch.Tensor, mask: torch.Tensor, processors: Any) -> list[list[int]]:
        """Greedy answers (new token ids) to the left-padded batch ``ids``: what ``model.generate`` gives, token
        for token, in less time. Prompts are prefilled one by one, sharing prefixes (``_prefill``); a row leaves
        the batch when it ends (its cache rows with it), and the cache grows in place instead of being copied at
        every step."""
        import torch

        rows = ids.shape[0]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        cache = _growing_cache(self.model, ids.shape[1] + self.max_new_tokens)
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        stops = torch.tensor(self._stop_ids, dtype=torch.long)
        alive = torch.arange(rows)
        answers: list[list[int]] = [[] for _ in range(rows)]
        seen = ids  # every row's tokens so far, an ended row's padded (as generate keeps them for the processors)
        scores = self._prefill(cache, ids, mask) if _all_growing(cache) else None
        for _ in range(self.max_new_tokens):
            if scores is None:
                output = self.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=positions,
                    cache=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
                scores = output.logits[:, -1, :].to(copy=True, dtype=torch.float32)
            if processors is not None:
                every = scores.new_zeros((rows, scores.shape[-1]))
                every[alive] = scores
                scores = processors(seen, every)[alive]
            tokens = scores.argmax(-1)
            for row, token in zip(alive.tolist(), tokens.tolist(), strict=True):
                answers[row].append(token)
            if processors is not None:
                column = torch.full((rows, 1), pad, dtype=seen.dtype)
                column[alive, 0] = tokens
                seen = torch.cat([seen, column], dim=-1)
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
            ids, positions, scores = tokens[:, None], positions[:, -1:] + 1, None
            ended = torch.isin(tokens, stops) if self._stop_ids else torch.zeros_like(tokens, dtype=torch.bool)
            if bool(ended.any()):
                keep = (~ended).nonzero().flatten()
                if keep.numel() == 0:
                    break
                alive, ids, mask, positions = alive[keep], ids[keep], mask[keep], positions[keep]
                cache.batch_select_indices(keep)
        return answers

    def _prefill(self, cache: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Fill ``cache`` with the keys and values of the left-padded batch ``ids`` and return each row's
        next-token logits. Each prompt runs alone, without padding, after the longest prefix it shares with the
        prompt before it in lexical order (whose keys and values are reused, not recomputed: in a batch of
        prompts with one system prompt and tool lists in common, a third of the prompt tokens)."""
        import torch

        rows, width = ids.shape
        prompts = [ids[row][mask[row] == 1] for row in range(rows)]
        scores: list[torch.Tensor] = [ids.new_empty(0)] * rows
        before = ids.new_empty(0)
        single = _growing_cache(self.model, width)
        for row in sorted(range(rows), key=lambda r: prompts[r].tolist()):
            prompt = prompts[row]
            shared = min(_common_prefix(before, prompt), len(prompt) - 1)
            for layer in single.layers if before.numel() else ():  # the previous prompt's first tokens kept
                layer.keys, layer.values = layer.key_room[:, :, :shared], layer.value_room[:, :, :shared]
            output = self.model(
                input_ids=prompt[None, shared:],
                position_ids=torch.arange(shared, len(prompt))[None],
                cache=single,
                use_cache=True,
                logits_to_keep=1,
            )
            scores[row] = output.logits[0, -1, :].to(dtype=torch.float32)
            _place(cache, single, row, rows, width - len(prompt))
            before = prompt
        for layer in cache.layers:
            layer.keys, layer.values = layer.key_room[:, :, :width], layer.value_room[:, :, :width]
        return torch.stack(scores)

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


def _growing_cache(model: Any, capacity: int) -> Any:
    """A ``DynamicCache`` for ``model`` whose layers write each step's keys and values into tensors with room for
    ``capacity`` tokens (allocated at the first step) and hand attention a view of the filled part: the values
    ``DynamicCache`` gives, without concatenating (copying) the whole cache at every step. Layers of other kinds
    (a sliding window) are left as the model's configuration makes them."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    layer = type(
        "GrowingLayer", (DynamicLayer,), {"update": _grow, "batch_select_indices": _select, "capacity": capacity}
    )
    cache = DynamicCache(config=model.config)
    cache.layers = [layer() if type(kept) is DynamicLayer else kept for kept in cache.layers]  # sliding ones stay
    return cache


def _grow(layer: Any, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``GrowingLayer.update``: the new keys and values written after the filled part; the filled part returned."""
    import torch

    start = layer.get_seq_length()
    if start == 0:
        layer.is_initialized, layer.device = True, key_states.device
        shape = (*key_states.shape[:2], layer.capacity, key_states.shape[-1])
        layer.key_room = torch.empty(shape, dtype=key_states.dtype, device=layer.device)
        layer.value_room = torch.empty(shape, dtype=value_states.dtype, device=layer.device)
    end = start + key_states.shape[-2]
    layer.key_room[:, :, start:end] = key_states
    layer.value_room[:, :, start:end] = value_states
    layer.keys, layer.values = layer.key_room[:, :, :end], layer.value_room[:, :, :end]
    return layer.keys, layer.values


def _all_growing(cache: Any) -> bool:
    """Whether every layer of ``cache`` is a growing one (a sliding-window layer keeps the batched prefill)."""
    return all(hasattr(layer, "capacity") for layer in cache.layers)


def _common_prefix(first: Any, second: Any) -> int:
    """How many leading tokens the 1-D id tensors ``first`` and ``second`` share."""
    size = min(len(first), len(second))
    differ = (first[:size] != second[:size]).nonzero()
    return int(differ[0, 0]) if len(differ) else size


def _place(cache: Any, single: Any, row: int, rows: int, start: int) -> None:
    """Copy the keys and values of the one-row cache ``single`` into row ``row`` of ``cache`` (``rows`` rows),
    from position ``start`` on (left padding before it: zeros, masked out). The rooms are allocated, with zeros,
    at the first row placed."""
    import torch

    for layer, part in zip(cache.layers, single.layers, strict=True):
        if not layer.is_initialized:
            layer.is_initialized, layer.device = True, part.keys.device
            shape = (rows, part.keys.shape[1], layer.capacity, part.keys.shape[-1])
            layer.key_room = torch.zeros(shape, dtype=part.keys.dtype, device=layer.device)
            layer.value_room = torch.zeros(shape, dtype=part.values.dtype, device=layer.device)
        end = start + part.keys.shape[-2]
        layer.key_room[row, :, start:end] = part.keys[0]
        layer.value_room[row, :, start:end] = part.values[0]


def _select(layer: Any, indices: Any) -> None:
    """``GrowingLayer.batch_select_indices``: only the rows ``indices`` kept (their rooms copied)."""
    end = layer.get_seq_length()
    layer.key_room, layer.value_room = layer.key_room[indices], layer.value_room[indices]
    layer.keys, layer.values = layer.key_room[:, :, :end], layer.value_room[:, :, :end]
