"""The vLLM backend: runs only where a CUDA GPU and the 'vllm' extra are present (marked ``gpu``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from slmswap.evaluation import TransformersBackend
from slmswap.formats import get_format
from slmswap.models import resolve_model
from slmswap.schema import Conversation
from tests.evaluation.test_runner import conversations

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@pytest.mark.gpu
def test_vllm_answers_like_transformers(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    from slmswap.evaluation.vllm import VLLMBackend

    fmt = get_format("hermes")
    prompts = [
        fmt.render(tokenizer, Conversation(messages=c.messages[:1], tools=c.tools), add_generation_prompt=True)
        for c in conversations()
    ]
    vllm = VLLMBackend(resolve_model(), max_new_tokens=12, gpu_memory_utilization=0.3, dtype="float32")
    local = TransformersBackend(model, tokenizer, max_new_tokens=12)
    answers = [g.text for g in vllm.generate(prompts)]
    assert answers == [g.text for g in local.generate(prompts)]
