"""The gateway's modes, and what the small model is asked and answered.

- ``record``: every request to the LLM, recorded (the gateway's first job);
- ``shadow``: the LLM answers the client; the small model gets the same request at the same time and its answer
  is stored with the LLM's as a pair, never delaying the client or making it fail;
- ``canary``: a share of the callers (:mod:`slmswap.gateway.canary`) gets the small model's answer, the others
  the LLM's;
- ``slm``: every caller gets the small model's answer (the state after cut-over).

In ``canary`` and ``slm`` an answer of the small model that is no valid answer to the request is replaced by the
LLM's (:mod:`slmswap.gateway.fallback`), unless fallback is switched off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["MODES", "Mode", "SlmAnswer", "slm_body"]

Mode = Literal["record", "shadow", "canary", "slm"]
MODES: tuple[Mode, ...] = ("record", "shadow", "canary", "slm")
"""The gateway's modes, in the order a team goes through them."""


def slm_body(body: Mapping[str, Any], model: str | None) -> dict[str, Any]:
    """The request as the small model gets it: whole (not streamed), under ``model`` when one is given."""
    out = {key: value for key, value in body.items() if key not in ("stream", "stream_options")}
    if model is not None:
        out["model"] = model
    return out


@dataclass(frozen=True)
class SlmAnswer:
    """What the small model answered: its HTTP status (``None``: no HTTP answer), the body as it came and parsed
    (``None`` when it is not JSON), why it is no answer (``None``: it is one), and how long it took."""

    status: int | None
    content: bytes
    answer: object
    error: str | None
    milliseconds: float
    timed_out: bool = False
