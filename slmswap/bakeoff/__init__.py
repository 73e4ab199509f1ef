"""The format bake-off: which chat format should a small model be fine-tuned in? Every format is trained with
the same model, data, recipe and seed, and the base and tuned models (and optionally an LLM) are evaluated on the
same held-out conversations, each with the format's own prompts; the report ranks the formats by the primary
metric with 95 % intervals and compares every pair example by example, with Holm's correction over the pairs.

``slmswap bakeoff`` runs it; :func:`bakeoff` is the same in Python (``slmswap.bakeoff(options)`` calls it too:
this package is callable)::

    from slmswap.bakeoff import BakeoffOptions, bakeoff

    result = bakeoff(BakeoffOptions(data="demo:train", formats=["hermes", "xml"], out=Path("bakeoff")))
    result.ranking, [pair.verdict() for pair in result.pairs]
"""

from __future__ import annotations

import sys
import types
from typing import Any

from slmswap.bakeoff.correction import holm
from slmswap.bakeoff.options import DEFAULT_FORMATS, BakeoffOptions
from slmswap.bakeoff.results import BakeoffResult, FormatOutcome, PairComparison
from slmswap.bakeoff.run import bakeoff

__all__ = ["DEFAULT_FORMATS", "BakeoffOptions", "BakeoffResult", "FormatOutcome", "PairComparison", "bakeoff", "holm"]


class _CallablePackage(types.ModuleType):
    """This package, callable: ``slmswap.bakeoff(options)`` is :func:`bakeoff` (the package and the function
    share the name ``slmswap.bakeoff``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> BakeoffResult:
        return bakeoff(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
