"""Offline batched generation with vLLM (extra ``vllm``; needs a GPU), on prompts rendered as in training.

vLLM receives the rendered prompt *text* (the same string the transformers backend tokenizes), greedy sampling,
and the template's stop markers, so its answers are comparable to the small model's anywhere else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from slmswap.errors import ConfigError
from slmswap.evaluation.backend import Generation, Prompt, refuse_grammars
from slmswap.evaluation.generation import stop_markers

__all__ = ["VLLMBackend"]


class VLLMBackend:
    """Greedy generation with ``vllm.LLM``.

    Args:
        model: A path or name vLLM can load (e.g. a merged fine-tuned checkpoint).
        max_new_tokens: Longest answer.
        options: Further ``vllm.LLM`` arguments (``gpu_memory_utilization``, ``max_model_len``, ...).
    """

    def __init__(self, model: str, *, max_new_tokens: int = 256, **options: Any) -> None:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            raise ConfigError("the vLLM backend needs the 'vllm' extra: pip install 'slmswap[vllm]'") from exc
        self._llm = LLM(model=model, **options)
        tokenizer = self._llm.get_tokenizer()
        self.markers = stop_markers(tokenizer)
        self._params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=self.markers)

    def generate(self, prompts: Sequence[Prompt | str]) -> list[Generation]:
        """Answers to ``prompts``, generated in one batch."""
        refuse_grammars(prompts, "the vLLM backend")
        texts = [p.text if isinstance(p, Prompt) else p for p in prompts]
        started = time.perf_counter()
        outputs = self._llm.generate(texts, self._params, use_tqdm=False)
        seconds = (time.perf_counter() - started) / max(1, len(texts))
        return [
            Generation(text=out.outputs[0].text, tokens=len(out.outputs[0].token_ids), seconds=seconds)
            for out in outputs
        ]
