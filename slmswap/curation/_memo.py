"""A value computed once per tool list: the requests of one application offer the same tools, and the sources
hand them the very same :class:`~slmswap.schema.Tool` objects (pydantic keeps model instances when it builds a
conversation, though it copies the tuple)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from slmswap.schema import Tool

__all__ = ["PerTools"]

T = TypeVar("T")


class PerTools(Generic[T]):
    """``compute(tools)``, remembered per tool list (by the identity of its tools, which it keeps alive)."""

    def __init__(self, compute: Callable[[tuple[Tool, ...]], T]) -> None:
        self._compute = compute
        self._seen: dict[tuple[int, ...], tuple[tuple[Tool, ...], T]] = {}

    def __call__(self, tools: tuple[Tool, ...]) -> T:
        key = tuple(map(id, tools))
        hit = self._seen.get(key)
        if hit is None:
            hit = self._seen[key] = (tools, self._compute(tools))
        return hit[1]
