"""Generation batches as many prompts as fit the cache budget, with the same answers as one at a time, and
answer budgets come from the references."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from slmswap.data.demo import load_demo_dataset
from slmswap.evaluation import TransformersBackend
from slmswap.evaluation.prompts import ANSWER_MARGIN, answer_budget, eval_items
from slmswap.formats import get_format

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def test_prompts_that_fit_go_in_one_batch_with_the_answers_of_one_at_a_time(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> None:
    fmt = get_format("hermes")
    items, _ = eval_items(load_demo_dataset("test")[:6], tokenizer, fmt)
    prompts = [item.prompt for item in items]
    fitting = TransformersBackend(model, tokenizer, max_new_tokens=10)
    order = list(range(len(prompts)))
    assert fitting._batches(order, [300] * len(prompts)) == [order]  # a few demo prompts fit one batch
    tight = TransformersBackend(model, tokenizer, max_new_tokens=10, cache_budget=3 * 320 * 46080)
    assert [len(b) for b in tight._batches(order, [300] * len(prompts))] == [3, 3]  # 46080 bytes per token
    single = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=10)
    answers = [g.text for g in fitting.generate(prompts)]
    assert answers == [g.text for g in single.generate(prompts)]
    assert answers == [g.text for g in tight.generate(prompts)]


def test_a_prefix_shared_by_prompts_runs_once_with_the_answers_of_each_alone(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> None:
    """Each prompt's prefill starts after the prefix it shares with the one before it in lexical order (the
    system prompt and tool lists of the demo prompts): fewer tokens run through the model, the answers those of
    each prompt alone. A prompt given twice runs only its last token the second time."""
    fmt = get_format("hermes")
    items, _ = eval_items(load_demo_dataset("test")[:6], tokenizer, fmt)
    prompts = [item.prompt for item in items] + [items[2].prompt]
    lengths = [len(tokenizer(p.text, add_special_tokens=False)["input_ids"]) for p in prompts]
    shapes: list[tuple[int, int]] = []
    handle = model.register_forward_pre_hook(
        lambda _module, _args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    try:
        shared = TransformersBackend(model, tokenizer, max_new_tokens=8).generate(prompts)
    finally:
        handle.remove()
    alone = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=8).generate(prompts)
    assert [g.text for g in shared] == [g.text for g in alone]
    prefills, first_step = shapes[: len(prompts)], shapes[len(prompts)]
    assert {rows for rows, _ in prefills} == {1}  # one prompt at a time
    assert first_step == (len(prompts), 1)  # then one batch
    assert (1, 1) in prefills  # the repeated prompt
    assert sum(tokens for _, tokens in prefills) < 0.8 * sum(lengths)  # the system prompt and tools, run once


def test_a_sliding_window_model_keeps_the_batched_prefill_with_the_answers_of_generate(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    """A model whose attention cache has sliding-window layers (here a small, randomly initialised Mistral) is
    prefilled as one left-padded batch, and its answers are ``model.generate``'s."""
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=8,
    )
    model: Any = MistralForCausalLM(config)
    model.eval()
    backend = TransformersBackend(model, tokenizer, max_new_tokens=12)
    texts = ["Hello there", "What is the weather in Paris today, and tomorrow?"]
    _, _, old = _generated(model, tokenizer, backend, texts, 12)
    answers = [r[:-1] if r and r[-1] in backend._stop_ids else r for r in old]
    assert [g.text for g in backend.generate(texts)] == [tokenizer.decode(r) for r in answers]


def test_answer_budget_covers_the_longest_reference(tokenizer: PreTrainedTokenizerBase) -> None:
    fmt = get_format("hermes")
    items, _ = eval_items(load_demo_dataset("test"), tokenizer, fmt)
    lengths = [len(tokenizer(fmt.render_assistant(i.reference), add_special_tokens=False)["input_ids"]) for i in items]
    budget = answer_budget(items, tokenizer, fmt)
    assert budget == max(lengths) + 1 + ANSWER_MARGIN
    assert answer_budget(items[:1], tokenizer, fmt, margin=0) == lengths[0] + 1


@pytest.mark.slow
def test_greedy_loop_gives_the_token_ids_of_generate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> None:
    """The backend's own decoding loop (ended rows leave the batch, the cache grows in place) gives
    ``model.generate``'s greedy answers token for token, free and held to grammars, on a left-padded batch where
    some rows end before the budget."""
    import torch

    fmt = get_format("hermes")
    test = load_demo_dataset("test")
    chosen = [test[i] for i in (0, 7, 18, 20, 1)]  # 7, 18 and 20 end within 16 tokens, 0 and 1 do not
    backend = TransformersBackend(model, tokenizer, max_new_tokens=16)
    free = [item.prompt for item in eval_items(chosen, tokenizer, fmt)[0]]
    held = [item.prompt for item in eval_items(chosen, tokenizer, fmt, constrained=True)[0]]
    held[-1] = free[-1]  # a row without a grammar rides along unconstrained
    for prompts in (free, held):
        grammars = [p.grammar for p in prompts]
        texts = [p.text for p in prompts]
        ids, mask, old = _generated(model, tokenizer, backend, texts, 16, backend._constraints(grammars))
        with torch.no_grad():
            new = backend._decode(ids, mask, backend._constraints(grammars))
        assert new == old
        assert any(len(r) < 16 for r in new)  # rows left the batch
        assert any(len(r) == 16 for r in new)  # while others ran on


def _generated(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    backend: TransformersBackend,
    texts: list[str],
    budget: int,
    processors: Any = None,
) -> tuple[Any, Any, list[list[int]]]:
    """``texts`` as one left-padded batch (ids, mask), and ``model.generate``'s greedy answers to it (up to
    ``budget`` tokens, each cut after its first stop token, held by ``processors`` where given)."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    width = max(len(e) for e in encoded)
    ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded])
    mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
    with torch.no_grad():
        output = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=budget,
            do_sample=False,
            eos_token_id=backend._stop_ids,
            pad_token_id=pad,
            logits_processor=processors,
        )
    stop = backend._stop_ids
    return ids, mask, [next((r[: j + 1] for j, t in enumerate(r) if t in stop), r) for r in output[:, width:].tolist()]
