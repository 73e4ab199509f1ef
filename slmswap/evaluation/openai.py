"""An OpenAI-compatible chat backend (OpenAI, Azure OpenAI, vLLM and llama.cpp servers) with prompt parity.

The backend sends each prompt's chat messages exactly as the format produced them for the small model (the
system prompt the format writes included; tools through ``tools=`` for the native format), so an LLM baseline
is given the very same prompt. Requests run concurrently up to a limit, with retries and exponential backoff
on 429 and 5xx answers and on timeouts (``Retry-After`` honoured). Calls returned natively in ``tool_calls`` are
normalised into the same :class:`~slmswap.schema.ToolCall` objects.

The API key is read from an environment variable when the backend is built and is never written to records,
results, reports, logs or error messages. Requests go through one ``httpx`` client per backend (connections
are reused across requests); redirects are never followed, so the key never leaves the configured host: a
redirect is a :class:`~slmswap.errors.BackendError` naming where it pointed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx

from slmswap.errors import BackendError, ConfigError
from slmswap.evaluation.backend import Generation, Prompt
from slmswap.schema import ToolCall
from slmswap.serving.messages import openai_request

__all__ = ["OpenAIBackend"]

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
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
        send: ``"format"`` (an LLM baseline): the messages the format wrote for the small model, system prompt
            included; ``"conversation"`` (a served swap, see :func:`slmswap.export`): the conversation as an
            application sends it, OpenAI ``tool_calls`` and ``tools=`` included, for the server's exported
            template to render.
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
        send: Literal["format", "conversation"] = "format",
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.backoff = backoff
        self.send = send
        key = os.environ.get(api_key_env, "")
        base = base_url.rstrip("/")
        if api_version is not None:
            self._url = f"{base}/openai/deployments/{model}/chat/completions?api-version={api_version}"
            self._headers = {"api-key": key} if key else {}
        else:
            self._url = f"{base}/chat/completions"
            self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._headers["Content-Type"] = "application/json"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(timeout=timeout, limits=limits, follow_redirects=False)

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(url={self._url!r}, model={self.model!r})"

    def close(self) -> None:
        """Close the backend's connections (they are also closed when it is garbage-collected)."""
        self._client.close()

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        """Answers to ``prompts``, sent as chat messages, in the given order."""
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, prompts))

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        if self.send == "conversation":
            if prompt.conversation is None:
                raise ConfigError("this prompt carries no conversation to send a served model")
            messages, tools = openai_request(prompt.conversation)
        else:
            messages, tools = [_api_message(m) for m in prompt.chat.messages], prompt.chat.tools
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        if tools:
            body["tools"] = tools
        return body

    def _one(self, prompt: Prompt) -> Generation:
        data = json.dumps(self._body(prompt)).encode()
        started = time.perf_counter()
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            try:
                response = self._client.post(self._url, content=data, headers=self._headers)
            except httpx.TransportError as exc:  # connection refused or reset, timeouts
                if attempt == self.max_retries:
                    reason = type(exc).__name__ if not str(exc) else str(exc)
                    raise BackendError(f"{self._url} unreachable after {attempt + 1} attempt(s): {reason}") from None
                time.sleep(delay)
                delay *= 2
                continue
            if response.is_redirect:
                raise BackendError(
                    f"{self._url} answered HTTP {response.status_code}, a redirect to "
                    f"{response.headers.get('location', '?')!r}; redirects are not followed (the API key stays with "
                    "the configured host): give the final URL as the base URL"
                )
            if response.is_success:
                break
            if response.status_code not in _RETRY_STATUS or attempt == self.max_retries:
                raise BackendError(f"{self._url} answered HTTP {response.status_code} after {attempt + 1} attempt(s)")
            retry_after = response.headers.get("retry-after", "")
            time.sleep(float(retry_after) if retry_after.isdigit() else delay)
            delay *= 2
        try:
            answer = response.json()
        except ValueError:
            raise BackendError(f"{self._url} answered with a body that is not JSON") from None
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
        prompt_tokens=int(usage["prompt_tokens"]) if "prompt_tokens" in usage else None,
        seconds=seconds,
        tool_calls=calls,
    )
