"""Generation batches as many prompts as fit the cache budget, with the same answers as one at a time, and
answer budgets come from the references."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
