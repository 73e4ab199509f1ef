"""Which callers a canary serves with the small model: a stable hash of the caller's tag, so one caller never
flips between the two models while the share stays the same."""

from __future__ import annotations

import hashlib

__all__ = ["in_canary"]


def in_canary(tag: str | None, fraction: float) -> bool:
    """Whether the caller ``tag`` (``X-Slmswap-Tag``, else ``metadata.tag``, else ``user``; ``None``: the one
    bucket of anonymous callers) is among the share ``fraction`` of callers the small model serves.

    The caller is in the canary when the SHA-256 of its tag, read as a number in [0, 1), is below ``fraction``:
    the same tag always gets the same answer, and raising ``fraction`` only adds callers.
    """
    digest = hashlib.sha256(("" if tag is None else tag).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest, "big") < fraction * 2**256
