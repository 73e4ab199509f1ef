"""The format bake-off: which chat format should a small model be fine-tuned in? Every format is trained with
the same model, data, recipe and seed, and the base and tuned models (and optionally an LLM) are evaluated on the
same held-out conversations, each with the format's own prompts; the report ranks the formats by the primary
metric with 95 % intervals and compares every pair example by example, with Holm's correction over the pairs.

``slmswap bakeoff`` runs it; :func:`run_bakeoff` (also ``slmswap.run_bakeoff``) is the same in Python::

    from slmswap.bakeoff import BakeoffOptions, run_bakeoff

    result = run_bakeoff(BakeoffOptions(data="demo:train", formats=["hermes", "xml"], out=Path("bakeoff")))
    result.ranking, [pair.verdict() for pair in result.pairs]
"""

from __future__ import annotations

from slmswap.bakeoff.correction import holm
from slmswap.bakeoff.options import DEFAULT_FORMATS, BakeoffOptions
from slmswap.bakeoff.results import BakeoffResult, FormatOutcome, PairComparison
from slmswap.bakeoff.run import run_bakeoff

__all__ = [
    "DEFAULT_FORMATS",
    "BakeoffOptions",
    "BakeoffResult",
    "FormatOutcome",
    "PairComparison",
    "holm",
    "run_bakeoff",
]
