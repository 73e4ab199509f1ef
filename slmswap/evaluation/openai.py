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

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx

from slmswap.data.openai import api_message, openai_request, parse_openai_answer
from slmswap.errors import BackendError, ConfigError, DataError
from slmswap.evaluation.backend import Generation, Prompt, refuse_grammars
from slmswap.schema import ToolCall

__all__ = ["OpenAIBackend"]

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
_FATAL_STATUS = {401, 403, 404}
_MAX_RETRY_AFTER = 60.0  # seconds: a server asking for longer is waited for this long


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
        if max_retries < 0:
            raise ConfigError(f"max_retries must be at least 0, got {max_retries}")
        if not base_url.startswith(("http://", "https://")) or len(base_url.split("//", 1)[1].strip("/")) == 0:
            raise ConfigError(f"the API base URL must be http:// or https:// and name a host, got {base_url!r}")
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.backoff = backoff
        self.send = send
        key = os.environ.get(api_key_env, "")
        self._key = key
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
        """Close the backend's connections."""
        self._client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        """Answers to ``prompts``, sent as chat messages, in the given order."""
        refuse_grammars(prompts, "an OpenAI-compatible API")
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, prompts))

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        if self.send == "conversation":
            if prompt.conversation is None:
                raise ConfigError("this prompt carries no conversation to send a served model")
            messages, tools = openai_request(prompt.conversation)
        else:
            messages, tools = [api_message(m) for m in prompt.chat.messages], prompt.chat.tools
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
        """One answer, with the API key scrubbed from everything the server sent back (an echoing server must
        not put it into records, reports or error messages)."""
        try:
            generation = self._request(prompt)
        except BackendError as exc:
            raise BackendError(self._scrub(str(exc))) from None
        if not self._key or self._key not in repr(generation):
            return generation
        calls = tuple(
            ToolCall(name=self._scrub(c.name), arguments=json.loads(self._scrub(json.dumps(c.arguments))), id=c.id)
            for c in generation.tool_calls
        )
        return dataclasses.replace(
            generation,
            text=self._scrub(generation.text),
            tool_calls=calls,
            error=self._scrub(generation.error) if generation.error else None,
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "[redacted]") if self._key else text

    def _request(self, prompt: Prompt) -> Generation:
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
            if response.status_code in _FATAL_STATUS:  # every request would fail alike
                raise BackendError(f"{self._url} answered HTTP {response.status_code}: check the key and the URL")
            if response.status_code not in _RETRY_STATUS or attempt == self.max_retries:
                return _failed(f"HTTP {response.status_code} after {attempt + 1} attempt(s)", started)
            retry_after = response.headers.get("retry-after", "")
            time.sleep(min(float(retry_after), _MAX_RETRY_AFTER) if retry_after.isdigit() else delay)
            delay *= 2
        try:
            answer = response.json()
        except ValueError:
            return _failed("the answer's body is not JSON", started)
        try:
            return _generation(answer, time.perf_counter() - started)
        except BackendError as exc:
            return _failed(str(exc), started)


def _failed(error: str, started: float) -> Generation:
    """An example the backend could not answer: recorded as a failed example, the evaluation goes on."""
    return Generation(text="", tokens=0, seconds=time.perf_counter() - started, error=error)


def _generation(answer: Any, seconds: float) -> Generation:
    """The answer as a generation; a malformed answer (see :func:`~slmswap.data.openai.parse_openai_answer`) is a
    :class:`~slmswap.errors.BackendError` saying what is wrong."""
    try:
        parsed = parse_openai_answer(answer)
    except DataError as exc:
        raise BackendError(f"the answer is malformed: {exc}"[:300]) from None
    return Generation(
        text=parsed.content,
        tokens=parsed.completion_tokens or 0,
        prompt_tokens=parsed.prompt_tokens,
        seconds=seconds,
        tool_calls=tuple(call.model_copy(update={"id": None}) for call in parsed.tool_calls),
    )
