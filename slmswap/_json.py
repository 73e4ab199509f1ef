"""Strict JSON reading for data: what Python's ``json`` lets through but JSON is not, refused with a reason.

``NaN`` and ``Infinity`` (no JSON form: they would be written into training targets as non-JSON), a key given
twice in one object (silently last-wins otherwise), and lone surrogates (``"\\ud800"``: valid JSON escapes that
no UTF-8 text can hold; they crash the tokenizer and the record writer later).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["StrictJsonError", "check_json_value", "strict_loads"]


class StrictJsonError(ValueError):
    """Text that ``json.loads`` accepts but that is not strict JSON."""


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not JSON (NaN and Infinity have no JSON form)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJsonError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def check_json_value(value: Any) -> None:
    """Raise :class:`StrictJsonError` when ``value`` holds a non-finite number or a string that is not valid
    Unicode text (a lone surrogate)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise StrictJsonError(f"the string {item[:40]!r} holds a lone surrogate, not text") from None
        elif isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            raise StrictJsonError(f"{item} is not JSON (NaN and Infinity have no JSON form)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def strict_loads(text: str) -> Any:
    """``json.loads(text)``, refusing NaN/Infinity, repeated keys and lone surrogates."""
    value = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    check_json_value(value)
    return value
