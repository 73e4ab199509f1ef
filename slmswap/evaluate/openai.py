"""An OpenAI-compatible chat backend (OpenAI, Azure OpenAI, vLLM and llama.cpp servers) with prompt parity.

The backend sends each prompt's chat messages exactly as the format produced them for the small model (the
system prompt the format writes included; tools through ``tools=`` for the native format), so an LLM baseline
is given the very same prompt. Requests run concurrently up to a limit, with retries and exponential backoff
on 429 and 5xx answers and on timeouts (``Retry-After`` honoured). Calls returned natively in ``tool_calls`` are
normalised into the same :class:`~slmswap.schema.ToolCall` objects.

The API key is read from an environment variable when the backend is built and is never written to records,
results, reports, logs or error messages.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slmswap.errors import ConfigError, SlmswapError
from slmswap.evaluate.generation import Generation, Prompt
from slmswap.schema import ToolCall

__all__ = ["BackendError", "OpenAIChatBackend"]

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class BackendError(SlmswapError):
    """An API request failed for good (after retries, or with an error that retrying cannot fix)."""


class OpenAIChatBackend:
    """Chat completions from an OpenAI-compatible endpoint.

    Args:
        base_url: e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:8000/v1``; for Azure OpenAI, the
            resource endpoint ``https://NAME.openai.azure.com``.
        model: The model name (for Azure OpenAI, the deployment name).
        api_key_env: Environment variable holding the API key (none is sent if it is unset or empty).
        api_version: Set for Azure OpenAI (e.g. ``"2024-10-21"``): switches to Azure's URL scheme and header.
        concurrency: Requests in flight at once.
        max_retries: Retries of a request answered with 429/5xx or timing out.
        timeout: Seconds to wait for one answer.
        max_tokens: Longest answer.
        backoff: First retry delay in seconds, doubled each retry.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        api_version: str | None = None,
        concurrency: int = 8,
        max_retries: int = 5,
        timeout: float = 60.0,
        max_tokens: int = 512,
        backoff: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.backoff = backoff
        key = os.environ.get(api_key_env, "")
        base = base_url.rstrip("/")
        if api_version is not None:
            self._url = f"{base}/openai/deployments/{model}/chat/completions?api-version={api_version}"
            self._headers = {"api-key": key} if key else {}
        else:
            self._url = f"{base}/chat/completions"
            self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._headers["Content-Type"] = "application/json"

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIChatBackend(url={self._url!r}, model={self.model!r})"

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        """Answers to ``prompts``, sent as chat messages, in the given order."""
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, prompts))

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        messages = [_api_message(m) for m in prompt.chat.messages]
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        if prompt.chat.tools:
            body["tools"] = prompt.chat.tools
        return body

    def _one(self, prompt: Prompt) -> Generation:
        data = json.dumps(self._body(prompt)).encode()
        started = time.perf_counter()
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(self._url, data=data, headers=self._headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read())
                break
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRY_STATUS or attempt == self.max_retries:
                    raise BackendError(f"{self._url} answered HTTP {exc.code} after {attempt + 1} attempt(s)") from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                time.sleep(float(retry_after) if retry_after and retry_after.isdigit() else delay)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    reason = getattr(exc, "reason", exc)
                    raise BackendError(f"{self._url} unreachable after {attempt + 1} attempt(s): {reason}") from None
                time.sleep(delay)
            delay *= 2
        return _generation(answer, time.perf_counter() - started)


def _api_message(message: dict[str, Any]) -> dict[str, Any]:
    """A format message in the API's shape: tool-call arguments as JSON strings."""
    out = {k: v for k, v in message.items() if v is not None}
    if "tool_calls" in out:
        out["tool_calls"] = [
            {
                "id": call.get("id") or f"call_{k}",
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": json.dumps(call["function"]["arguments"])},
            }
            for k, call in enumerate(out["tool_calls"])
        ]
    return out


def _generation(answer: dict[str, Any], seconds: float) -> Generation:
    try:
        message = answer["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise BackendError(f"the answer has no choices[0].message: {str(answer)[:200]}") from exc
    calls = tuple(
        ToolCall(name=call["function"]["name"], arguments=call["function"].get("arguments") or {})
        for call in message.get("tool_calls") or []
    )
    usage = answer.get("usage") or {}
    return Generation(
        text=message.get("content") or "",
        tokens=int(usage.get("completion_tokens", 0)),
        seconds=seconds,
        tool_calls=calls,
    )
