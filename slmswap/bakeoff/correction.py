"""Holm's step-down correction: p-values adjusted so that calling every adjusted p below alpha significant
keeps the chance of any false call, over the whole family of tests, at alpha or less."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["holm"]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given.

    With ``m`` tests and the p-values sorted ascending, the ``k``-th smallest becomes the largest of
    ``min(1, (m - j + 1) p_(j))`` over ``j`` up to ``k`` (the running maximum keeps the adjusted values in the
    order of the raw ones).

    >>> from slmswap.bakeoff import holm
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda k: p_values[k])):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
