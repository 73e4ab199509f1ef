"""Generation batches as many prompts as fit the cache budget, with the same answers as one at a time, and
answer budgets come from the references."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    for prompts in (free, held):
        encoded = [tokenizer(p.text, add_special_tokens=False)["input_ids"] for p in prompts]
        width = max(len(e) for e in encoded)
        ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded])
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
        grammars = [p.grammar for p in prompts]
        with torch.no_grad():
            new = backend._decode(ids, mask, backend._constraints(grammars))
            output = model.generate(  # type: ignore[operator]
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=16,
                do_sample=False,
                eos_token_id=backend._stop_ids,
                pad_token_id=pad,
                logits_processor=backend._constraints(grammars),
            )
        stop = backend._stop_ids
        old = [next((r[: j + 1] for j, t in enumerate(r) if t in stop), r) for r in output[:, width:].tolist()]
        assert new == old
        assert any(len(r) < 16 for r in new)  # rows left the batch
        assert any(len(r) == 16 for r in new)  # while others ran on
