"""The language-model head computed only where a label is: TRL's training loss, without scoring every position.

TRL's ``SFTTrainer`` computes per-token log-probabilities with a chunked head (``fused_lm_head=True``). On
devices with Triton (CUDA, XPU) it projects only the positions whose next-token label is not ``-100``; elsewhere
(CPU, MPS) it projects every position of the batch, in 32k-wide vocabulary tiles recomputed in the backward pass.
In chat fine-tuning only a small share of the tokens is labelled (about one in eight on the demo data), so on a
CPU most of that work is thrown away.

:func:`install_labelled_head` wraps the model's fused forward: where TRL would score every position, the model's
own forward runs with a boolean ``logits_to_keep`` mask (transformers projects just those hidden states, with the
model's own logit scaling or soft-capping), and the log-probabilities, entropy and top-1 hits TRL's loss and
metrics read come from a plain log-softmax over those rows. The loss is TRL's own ``compute_loss`` on these
outputs: the same value up to float rounding. On Triton devices, with pre-shifted labels (context or sequence
parallelism) and with MoE router logits, TRL's head runs unchanged.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

__all__ = ["install_labelled_head", "supports_labelled_head"]

_MARK = "_slmswap_labelled_head"
"""Attribute on the wrapped forward that holds TRL's fused forward (so the wrapping is done once)."""


def supports_labelled_head(model: Any) -> bool:
    """Whether ``model``'s forward projects only the positions of a boolean ``logits_to_keep`` mask (every
    causal LM of transformers 5 that slices its hidden states with ``slice_logits_to_keep``)."""
    module = sys.modules.get(type(model).__module__)
    return module is not None and "slice_logits_to_keep" in vars(module)


def install_labelled_head(model: Any) -> bool:
    """Make ``model``'s ``fused_lm_head=True`` forward project only labelled positions where TRL's does not.

    ``model`` is the causal LM TRL patched with ``add_fused_lm_head`` (the PEFT model's base model). Returns
    whether the wrapper is in place (``False`` when the model cannot take a boolean ``logits_to_keep``).
    """
    if not supports_labelled_head(model):
        return False
    fused = model.forward
    if getattr(fused, _MARK, None) is not None:
        return True

    @functools.wraps(type(model).forward)  # generate() validates its keyword arguments against this signature
    def forward(
        self: Any,
        *args: Any,
        fused_lm_head: bool = False,
        labels: Any = None,
        shift_labels: Any = None,
        num_items_in_batch: Any = None,
        **kwargs: Any,
    ) -> Any:
        if not fused_lm_head or labels is None or shift_labels is not None or kwargs.get("output_router_logits"):
            return fused(
                *args,
                fused_lm_head=fused_lm_head,
                labels=labels,
                shift_labels=shift_labels,
                num_items_in_batch=num_items_in_batch,
                **kwargs,
            )
        from trl.kernels.chunked_logprob import _use_triton

        if _use_triton(labels.device):  # TRL's Triton head already skips unlabelled positions
            return fused(*args, fused_lm_head=True, labels=labels, num_items_in_batch=num_items_in_batch, **kwargs)
        return _labelled_forward(fused, labels, num_items_in_batch, args, kwargs)

    setattr(forward, _MARK, fused)
    model.forward = types.MethodType(forward, model)
    return True


def _labelled_forward(
    fused: Any, labels: Any, num_items_in_batch: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """TRL's ``FusedCausalLMOutput`` (log-probabilities, entropy, top-1 hits, label mask, loss) from the logits of
    the labelled positions only."""
    import torch
    from torch.nn.functional import pad
    from trl.trainer.utils import FusedCausalLMOutput

    targets = labels[:, 1:]
    mask = targets != -100
    keep = pad(mask, (0, 1))  # position t is projected when the token at t + 1 is labelled
    kwargs["use_cache"] = False
    logits = fused(*args, logits_to_keep=keep, **kwargs).logits  # [labelled, vocabulary]
    log_softmax = torch.log_softmax(logits.float(), dim=-1)
    picked = targets[mask]
    per_token = log_softmax.gather(-1, picked[:, None]).squeeze(-1)
    with torch.no_grad():  # the entropy and top-1 hits only feed TRL's logged metrics
        entropy = -(log_softmax.exp() * log_softmax).sum(-1)
        is_top1 = logits.argmax(-1) == picked
    # masked_scatter keeps a batch without any label connected to the graph (a differentiable zero)
    log_probs = per_token.new_zeros(mask.shape).masked_scatter(mask, per_token)
    denominator = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(
        loss=-log_probs.sum() / denominator,
        log_probs=log_probs,
        entropy=entropy.new_zeros(mask.shape).masked_scatter(mask, entropy),
        is_top1=is_top1.new_zeros(mask.shape).masked_scatter(mask, is_top1),
        label_mask=mask,
    )
