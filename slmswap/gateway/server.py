"""The gateway's HTTP server: an OpenAI-compatible front door that passes every request to the hosted LLM
unchanged, passes its answer back unchanged, and records the exchange before the client gets the answer.

Routes: ``POST /v1/chat/completions`` (and Azure's ``/openai/deployments/NAME/chat/completions``), plain or
streamed; ``GET /v1/models`` passed through; ``GET /healthz``. Anything else is a 404 in OpenAI's error shape.

Durability: a plain answer is sent only once its row is committed; a stream's chunks are passed on as they come
and its row is committed after the last chunk and before ``data: [DONE]``. A row that cannot be committed turns
the answer into an error (a 503, or an ``error`` event in a stream), so no client is ever answered for an
exchange the store does not hold.

Bad requests are answered here and never forwarded: a body over the size limit (413), one that does not arrive
in time (408), bytes that are not UTF-8 JSON objects (400); an upstream that cannot be reached or does not
answer in time is a 502 or 504. Each gets OpenAI's error shape, and each forwarded request's failure is
recorded as an error row, never as training data.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import sys
import time
import warnings
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from slmswap.data.traffic import DEFAULT_STORE, open_store, store_name
from slmswap.errors import ConfigError
from slmswap.gateway.canary import in_canary
from slmswap.gateway.exchange import Exchange, answer_fields, request_tag, slm_fields
from slmswap.gateway.fallback import invalid
from slmswap.gateway.modes import MODES, Mode, SlmAnswer, slm_body
from slmswap.gateway.recorder import Recorder, RecordError
from slmswap.gateway.redaction import RedactionRule, Redactor, parse_rules
from slmswap.gateway.sse import EventSplitter, StreamedAnswer, answer_events, event_data, streamed_answer
from slmswap.gateway.upstream import ClientPool, Upstream

__all__ = ["ANSWERED_BY_HEADER", "EXCHANGE_HEADER", "GatewayConfig", "create_app", "openai_error", "run_gateway"]

_LOG = logging.getLogger("slmswap.gateway")

EXCHANGE_HEADER = "x-slmswap-exchange"
"""The response header naming the exchange's row id in the store."""

ANSWERED_BY_HEADER = "x-slmswap-answered-by"
"""The response header naming whose answer the client got: ``llm`` or ``slm``."""

# Response headers not passed back: hop-by-hop ones, and those the gateway's server writes itself.
_NOT_RETURNED = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date", "server"}
)


@dataclass(frozen=True)
class GatewayConfig:
    """What the gateway does.

    Args:
        upstream: The hosted LLM's API base URL.
        store: A SQLite file (made when missing) or a ``postgresql://`` URL.
        api_key: The gateway's own upstream key (else the client's is forwarded).
        api_version: Azure OpenAI's ``api-version``.
        gateway_key: A key clients must send (``Authorization: Bearer`` or ``api-key``); compared in constant
            time; it is never forwarded.
        redact: Built-in redaction rules (``email``, ``phone``, ``card``, ``key``).
        redact_regex: The user's own rules, ``NAME=REGEX`` or ``REGEX``.
        record_headers: Request headers to store (no other header ever is).
        max_body_mb: The largest request body accepted.
        timeout: Seconds the upstream may take to answer (between two chunks, for a stream).
        connect_timeout: Seconds to connect to the upstream.
        body_timeout: Seconds a client may take to send its request body.
        connections: Connections to the upstream kept at most.
        sync: A SQLite store's commits: ``"normal"`` survive the gateway's crash (``kill -9``); ``"full"`` also
            a power cut, at the cost of waiting for the disk on every group commit.
        slm: The small model's API base URL (``slmswap serve``, or any OpenAI-compatible server); needed by
            every mode but ``record``.
        mode: ``record`` (the LLM only), ``shadow`` (the LLM answers; the small model answers the same request
            in the background and both answers are stored as a pair). See :mod:`slmswap.gateway.modes`.
        slm_model: The ``model`` the small model's requests name (``None``: the client's, as sent).
        slm_timeout: Seconds the small model may take to answer in full.
        fraction: In ``canary`` mode, the share of callers (by a stable hash of their tag) the small model
            answers; see :mod:`slmswap.gateway.canary`.
        fallback: In ``canary`` and ``slm`` modes, replace an answer of the small model that is no valid answer
            to the request by the LLM's (see :mod:`slmswap.gateway.fallback`); ``False``: the client gets what
            the small model gave (a 502 or 504 when it gave no readable answer).
        hedge: In ``canary`` and ``slm`` modes, ask the LLM at the same time as the small model instead of only
            after a fallback: a fallback costs no extra wait, every row is a pair (the LLM's answer is stored as
            an update of the row once it comes), and the LLM is paid for every request.
    """

    upstream: str
    store: str = DEFAULT_STORE
    api_key: str | None = field(default=None, repr=False)
    api_version: str | None = None
    gateway_key: str | None = field(default=None, repr=False)
    redact: tuple[str, ...] = ()
    redact_regex: tuple[str, ...] = ()
    record_headers: tuple[str, ...] = ()
    max_body_mb: float = 16.0
    timeout: float = 600.0
    connect_timeout: float = 10.0
    body_timeout: float = 30.0
    connections: int = 512
    sync: Literal["normal", "full"] = "normal"
    slm: str | None = None
    mode: Mode = "record"
    slm_model: str | None = None
    slm_timeout: float = 30.0
    fraction: float | None = None
    fallback: bool = True
    hedge: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode != "record" and self.slm is None:
            raise ConfigError(f"--mode {self.mode} needs the small model's URL (--slm)")
        if self.mode == "canary" and self.fraction is None:
            raise ConfigError("--mode canary needs the share of callers the small model answers (--fraction)")
        if self.fraction is not None and self.mode != "canary":
            raise ConfigError(f"--fraction is for --mode canary, not --mode {self.mode}")
        if self.fraction is not None and not 0 <= self.fraction <= 1:
            raise ConfigError(f"--fraction must be between 0 and 1, got {self.fraction!r}")
        if self.hedge and self.mode not in ("canary", "slm"):
            raise ConfigError(f"--hedge is for --mode canary or slm, not --mode {self.mode}")
        if self.hedge and not self.fallback:
            raise ConfigError("--hedge asks the LLM for the fallback, and --no-fallback has none")
        if not self.slm_timeout > 0:
            raise ConfigError(f"the small model's timeout must be positive, got {self.slm_timeout!r}")


def openai_error(status: int, message: str, *, kind: str, code: str | None = None) -> JSONResponse:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


class _RefusedError(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _passed_headers(headers: httpx.Headers, exchange_id: str | None) -> dict[str, str]:
    out = {name: value for name, value in headers.items() if name.lower() not in _NOT_RETURNED}
    if exchange_id is not None:
        out[EXCHANGE_HEADER] = exchange_id
        out[ANSWERED_BY_HEADER] = "llm"
    return out


class _Gateway:
    """The running gateway: its upstream client, its store writer, its rules."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.upstream = Upstream(
            config.upstream,
            api_key=config.api_key,
            api_version=config.api_version,
            client_keys=config.gateway_key is None,
        )
        self.rules: list[RedactionRule] = parse_rules(config.redact, config.redact_regex)
        self.record_headers = tuple(name.lower() for name in config.record_headers)
        self.max_body = int(config.max_body_mb * 1024 * 1024)
        self.slm = Upstream(config.slm, client_keys=False) if config.slm is not None else None
        self._clients: ClientPool | None = None
        self._slm_clients: ClientPool | None = None
        self._recorder: Recorder | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> httpx.AsyncClient:
        """An upstream client for the next request."""
        assert self._clients is not None, "the gateway is not started"
        return self._clients.next()

    @property
    def recorder(self) -> Recorder:
        assert self._recorder is not None, "the gateway is not started"
        return self._recorder

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        engine = open_store(self.config.store, create=True, sync=self.config.sync)
        self._recorder = Recorder(engine)
        self._clients = self.upstream.clients(
            timeout=self.config.timeout,
            connect_timeout=self.config.connect_timeout,
            connections=self.config.connections,
        )
        if self.slm is not None:
            self._slm_clients = self.slm.clients(
                timeout=self.config.slm_timeout,
                connect_timeout=min(self.config.connect_timeout, self.config.slm_timeout),
                connections=self.config.connections,
            )
        try:
            yield
        finally:
            if self._background:  # the pairs still coming (a hedged LLM answer slower than this stays unpaired)
                await asyncio.wait(self._background, timeout=self.config.slm_timeout + 1)
            await self._clients.aclose()
            if self._slm_clients is not None:
                await self._slm_clients.aclose()
            await self._recorder.close()
            engine.dispose()

    # -- the small model ---------------------------------------------------------------------------------------

    async def ask_slm(self, body: dict[str, Any]) -> SlmAnswer:
        """The small model's whole answer to ``body``; never raises: a failure or a timeout is an answer with an
        ``error``."""
        assert self.slm is not None, "no small model is configured"
        assert self._slm_clients is not None, "the gateway is not started"
        timeout = self.config.slm_timeout
        sent = time.perf_counter()

        def elapsed() -> float:
            return (time.perf_counter() - sent) * 1000

        try:
            response = await asyncio.wait_for(
                self._slm_clients.next().post(
                    self.slm.chat_url(None, None, {}), json=slm_body(body, self.config.slm_model)
                ),
                timeout,
            )
        except (asyncio.TimeoutError, httpx.TimeoutException):
            return SlmAnswer(None, b"", None, f"no answer within {timeout:g} s", elapsed(), timed_out=True)
        except httpx.HTTPError as exc:
            return SlmAnswer(None, b"", None, f"the small model could not be reached ({type(exc).__name__})", elapsed())
        answer, error = _read_answer(response, response.content)
        return SlmAnswer(response.status_code, response.content, answer, error, elapsed())

    def shadow(self, exchange: Exchange, body: dict[str, Any]) -> None:
        """Ask the small model in the background; its side of the pair is stored once the LLM's row is."""
        exchange.shadow = asyncio.ensure_future(self.ask_slm(body))

    def recorded(self, exchange: Exchange, redactor: Redactor) -> None:
        """The LLM's row is committed (or queued): store the small model's side when it comes, as an update of
        that row, without anyone waiting for it."""
        task = exchange.shadow
        if task is None:
            return

        async def pair() -> None:
            slm = await task
            self.recorder.update(exchange.id, slm_fields(slm.status, slm.answer, slm.error, slm.milliseconds, redactor))

        self._later(pair())

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, kept until it is done (and awaited when the gateway stops)."""
        background = asyncio.ensure_future(work)
        self._background.add(background)
        background.add_done_callback(self._background.discard)

    async def _hedge_pair(self, row_id: str, hedged: _Hedge, redactor: Redactor) -> None:
        """The LLM's side of a row the small model answered (``--hedge``), stored as an update once it is whole:
        its answer read as a plain one would be (a stream's events added up), ``upstream_ms`` the time to it."""
        try:
            response = await hedged.response
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            values = answer_fields(0, None, f"the hedged LLM request failed ({type(exc).__name__})", redactor)
        else:
            answer: object
            if _is_stream(response):
                streamed = streamed_answer(content)
                answer, error = streamed.response(), streamed.error
            else:
                answer, error = _read_answer(response, content)
            values = answer_fields(response.status_code, answer, error, redactor)
        values["upstream_ms"] = (time.perf_counter() - hedged.sent) * 1000
        self.recorder.update(row_id, values)

    def serves_slm(self, tag: str | None) -> bool:
        """Whether the small model answers this caller (``canary``: a stable share of callers; ``slm``: all)."""
        mode = self.config.mode
        return mode == "slm" or (mode == "canary" and in_canary(tag, self.config.fraction or 0.0))

    async def answer_with_slm(
        self, exchange: Exchange, body: dict[str, Any], redactor: Redactor, hedged: _Hedge | None
    ) -> Response | None:
        """The client's answer from the small model, recorded first; ``None`` when it falls back to the LLM (the
        reason noted in ``exchange``, which the LLM's row then carries with the small model's side). ``hedged``:
        the LLM's answer on its way (``--hedge``), stored with the row when the small model's answer stands."""
        slm = await self.ask_slm(body)
        exchange.slm_columns = slm_fields(slm.status, slm.answer, slm.error, slm.milliseconds, redactor)
        bad = invalid(slm, body)
        if bad is not None and self.config.fallback:
            exchange.fallback_reason = redactor.text(f"{bad.reason}: {bad.detail}")[:4000]
            return None
        exchange.answered_by = "slm"
        if bad is not None and bad.reason in ("timeout", "error", "malformed"):  # nothing to pass on
            status = 504 if bad.reason == "timeout" else 502
            message = redactor.text(f"the small model gave no answer ({bad.reason}: {bad.detail})")[:4000]
            failed = openai_error(status, message, kind="upstream_error", code=f"slm_{bad.reason}")
            content, media = bytes(failed.body), "application/json"
        else:
            status, content, media = 200, slm.content, "application/json"
            message = None
            if exchange.stream:
                assert isinstance(slm.answer, dict)  # a valid answer (or one with bad calls) is an object
                content, media = answer_events(slm.answer), "text/event-stream"
        try:
            await self.recorder.record(exchange.row(status, None, message, redactor))
        except RecordError as exc:
            return _unstored(exc)
        finally:
            if hedged is not None:  # read (and closed) whatever comes; with no row to update, it updates none
                self._later(self._hedge_pair(exchange.id, hedged, redactor))
        headers = {EXCHANGE_HEADER: exchange.id, ANSWERED_BY_HEADER: "slm"}
        return Response(content, status, headers=headers, media_type=media)

    # -- requests --------------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        key = self.config.gateway_key
        if key is None:
            return
        given = request.headers.get("authorization", "")
        given = given[7:] if given.lower().startswith("bearer ") else request.headers.get("api-key", "")
        if not hmac.compare_digest(given.encode(), key.encode()):
            raise _RefusedError(
                openai_error(
                    401, "the gateway key is missing or wrong", kind="invalid_request_error", code="invalid_api_key"
                )
            )

    async def _body(self, request: Request) -> tuple[bytes, dict[str, Any]]:
        """The request's bytes (forwarded as they are) and its JSON object; refused when it is not one."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise _RefusedError(self._too_large())
        try:
            raw = await asyncio.wait_for(self._read(request), self.config.body_timeout)
        except asyncio.TimeoutError:
            raise _RefusedError(
                openai_error(
                    408,
                    f"the request body did not arrive within {self.config.body_timeout:g} s",
                    kind="invalid_request_error",
                    code="request_timeout",
                )
            ) from None
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as exc:
            raise _RefusedError(self._invalid(f"the request body is not UTF-8 (byte {exc.start})")) from None
        except (ValueError, RecursionError) as exc:
            raise _RefusedError(self._invalid(f"the request body is not valid JSON: {str(exc)[:200]}")) from None
        if not isinstance(body, dict):
            raise _RefusedError(self._invalid(f"the request body is a JSON {type(body).__name__}, not an object"))
        return raw, body

    async def _read(self, request: Request) -> bytes:
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body:
                    raise _RefusedError(self._too_large())
                chunks.append(chunk)
        except ClientDisconnect:
            raise _RefusedError(self._invalid("the client went away while sending the request")) from None
        return b"".join(chunks)

    def _too_large(self) -> JSONResponse:
        return openai_error(
            413,
            f"the request body is larger than {self.config.max_body_mb:g} MB (the gateway's --max-body-mb)",
            kind="invalid_request_error",
            code="request_too_large",
        )

    @staticmethod
    def _invalid(message: str) -> JSONResponse:
        return openai_error(400, message, kind="invalid_request_error", code="invalid_json")

    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions`` (and the Azure path): forward, record, answer."""
        try:
            self._authorize(request)
            raw, body = await self._body(request)
        except _RefusedError as bad:
            return bad.response
        headers = request.headers
        exchange = Exchange(
            body=body,
            stream=body.get("stream") is True,
            tag=request_tag(headers.get("x-slmswap-tag"), body),
            headers={name: headers[name] for name in self.record_headers if name in headers},
            mode=self.config.mode,
        )
        redactor = Redactor(self.rules, secrets=self.upstream.secrets(headers))
        deployment = request.path_params.get("deployment")
        client = self.client
        try:
            upstream_request = client.build_request(
                "POST",
                self.upstream.chat_url(body.get("model"), deployment, request.query_params),
                content=raw,
                headers=self.upstream.headers(headers, azure=deployment is not None),
            )
        except (httpx.InvalidURL, ValueError) as exc:  # e.g. an Azure deployment name no URL can hold
            return openai_error(400, f"the request cannot be forwarded: {exc}", kind="invalid_request_error")
        hedged: _Hedge | None = None
        if self.serves_slm(exchange.tag):
            if self.config.hedge:
                hedged = _Hedge(asyncio.ensure_future(client.send(upstream_request, stream=True)))
            else:
                exchange.llm_asked = "on_fallback"
            if (served := await self.answer_with_slm(exchange, body, redactor, hedged)) is not None:
                return served
        elif self.config.mode in ("shadow", "canary"):  # a canary shadows the callers outside it: more pairs
            self.shadow(exchange, body)
        sent = time.perf_counter() if hedged is None else hedged.sent
        try:
            response = await (client.send(upstream_request, stream=True) if hedged is None else hedged.response)
        except httpx.HTTPError as exc:
            exchange.upstream_done(sent)
            return await self._failed(exchange, redactor, exc)
        if exchange.stream and _is_stream(response):
            return _Relay(self, exchange, redactor, response, sent)  # type: ignore[return-value]
        try:
            content = await response.aread()
        except httpx.HTTPError as exc:
            exchange.upstream_done(sent)
            return await self._failed(exchange, redactor, exc)
        finally:
            await response.aclose()
        exchange.upstream_done(sent)
        answer, error = _read_answer(response, content)
        try:
            await self.recorder.record(exchange.row(response.status_code, answer, error, redactor))
        except RecordError as exc:
            return _unstored(exc)
        self.recorded(exchange, redactor)
        return Response(content, response.status_code, headers=_passed_headers(response.headers, exchange.id))

    async def _failed(self, exchange: Exchange, redactor: Redactor, exc: httpx.HTTPError) -> Response:
        """A 504 (the upstream took too long) or a 502 (it could not be reached, or broke off), recorded."""
        timed_out = isinstance(exc, httpx.TimeoutException)
        status = 504 if timed_out else 502
        reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        message = redactor.text(
            f"the upstream {'did not answer in time' if timed_out else 'could not be reached'} ({reason})"
        )
        try:
            await self.recorder.record(exchange.row(status, None, message, redactor))
        except RecordError:
            _LOG.error("an upstream failure could not be recorded either")
        else:
            self.recorded(exchange, redactor)
        response = openai_error(
            status, message, kind="upstream_error", code="upstream_timeout" if timed_out else "upstream_unreachable"
        )
        response.headers[EXCHANGE_HEADER] = exchange.id
        response.headers[ANSWERED_BY_HEADER] = "llm"
        return response

    async def models(self, request: Request) -> Response:
        """``GET /v1/models``, passed through."""
        try:
            self._authorize(request)
        except _RefusedError as bad:
            return bad.response
        secrets = self.upstream.secrets(request.headers)
        try:
            response = await self.client.get(
                self.upstream.models_url(request.query_params),
                headers=self.upstream.headers(request.headers, azure=False),
            )
        except httpx.HTTPError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            return openai_error(
                504 if timed_out else 502,
                Redactor((), secrets).text(f"the upstream could not list its models ({type(exc).__name__})"),
                kind="upstream_error",
                code="upstream_timeout" if timed_out else "upstream_unreachable",
            )
        return Response(response.content, response.status_code, headers=_passed_headers(response.headers, None))

    async def health(self, _request: Request) -> Response:
        """``GET /healthz``: whether the store's writer runs, and what it has committed since the start."""
        recorder = self.recorder
        return JSONResponse(
            {
                "status": "ok" if recorder.alive else "failing",
                "store": store_name(self.config.store),
                "recorded": recorder.rows,
                "commits": recorder.commits,
            },
            status_code=200 if recorder.alive else 503,
        )


@dataclass
class _Hedge:
    """The LLM's answer asked at the same time as the small model's (``--hedge``): the response on its way, and
    when it was sent."""

    response: asyncio.Future[httpx.Response]
    sent: float = field(default_factory=time.perf_counter)


def _is_stream(response: httpx.Response) -> bool:
    """Whether the upstream answered with a stream of events (a success, as server-sent events)."""
    return response.is_success and "text/event-stream" in response.headers.get("content-type", "")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _read_answer(response: httpx.Response, content: bytes) -> tuple[object, str | None]:
    """The parsed body (``None`` when it is not JSON) and the row's error (``None`` for an answer)."""
    try:
        answer: object = json.loads(content)
    except (ValueError, RecursionError):
        answer = None
    if response.is_success and answer is None:
        return None, "the answer's body is not JSON"
    if response.is_redirect:
        return answer, f"HTTP {response.status_code}: the upstream redirected (not followed)"
    if not response.is_success:
        return answer, f"HTTP {response.status_code}: {content[:1000].decode('utf-8', 'replace')}"
    return answer, None


def _unstored(exc: RecordError) -> JSONResponse:
    return openai_error(
        503, f"{exc}; the answer is withheld (try again)", kind="server_error", code="store_unavailable"
    )


class _Relay:
    """A streamed answer: events passed on one by one as they arrive, the row committed before ``[DONE]``."""

    def __init__(
        self, gateway: _Gateway, exchange: Exchange, redactor: Redactor, response: httpx.Response, sent: float
    ) -> None:
        self.gateway, self.exchange, self.redactor, self.response, self.sent = (
            gateway,
            exchange,
            redactor,
            response,
            sent,
        )
        self.answer = StreamedAnswer()
        self.recorded = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _passed_headers(self.response.headers, self.exchange.id)
        start = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": self.response.status_code, "headers": start})
        relay = asyncio.ensure_future(self._relay(send))
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((relay, gone), return_when=asyncio.FIRST_COMPLETED)
            if not relay.done():  # the client left first: stop reading the upstream (it stops generating)
                relay.cancel()
                await asyncio.wait((relay,))
            elif (failure := relay.exception()) is not None:
                await self._failed(send, failure)
        finally:
            gone.cancel()
            await self.response.aclose()
            if not self.recorded:
                self.answer.error = self.answer.error or "the client disconnected before the stream ended"
                self._record_later(status=499)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _failed(self, send: Send, failure: BaseException) -> None:
        """The stream broke off (the upstream failed, or the row could not be stored): an error event, no
        ``[DONE]``."""
        if isinstance(failure, RecordError):
            await send({"type": "http.response.body", "body": _error_event(str(failure), "store_unavailable")})
            return
        if not isinstance(failure, httpx.HTTPError):
            raise failure
        self.answer.error = self.redactor.text(f"the upstream broke off the stream ({type(failure).__name__})")
        self._record_later()
        await send({"type": "http.response.body", "body": _error_event(self.answer.error, "upstream_error")})

    async def _relay(self, send: Send) -> None:
        splitter = EventSplitter()
        first = True
        async for data in self.response.aiter_raw():
            if first:
                self.exchange.upstream_done(self.sent)  # time to the first chunk
                first = False
            for event in splitter.feed(data):
                payload = event_data(event)
                if payload is not None and payload.strip() == "[DONE]":
                    await self._record()
                elif payload is not None:
                    self.answer.add(payload)
                await send({"type": "http.response.body", "body": event, "more_body": True})
        if not self.recorded:  # a stream that ended without [DONE]
            if self.answer.finish_reason is None and self.answer.error is None:
                self.answer.error = "the stream ended before the answer did (no finish_reason, no [DONE])"
            await self._record()
        rest = splitter.rest()
        if rest:
            await send({"type": "http.response.body", "body": rest, "more_body": True})

    def _row(self, status: int | None) -> dict[str, Any]:
        self.recorded = True
        return self.exchange.row(
            status or self.response.status_code, self.answer.response(), self.answer.error, self.redactor
        )

    async def _record(self) -> None:
        """Commit the row, and return once it is durable."""
        await self.gateway.recorder.record(self._row(None))
        self.gateway.recorded(self.exchange, self.redactor)

    def _record_later(self, status: int | None = None) -> None:
        """Queue the row of a stream no client waits for any more."""
        self.gateway.recorder.submit(self._row(status))
        self.gateway.recorded(self.exchange, self.redactor)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _error_event(message: str, code: str) -> bytes:
    error = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return f"data: {json.dumps(error)}\n\n".encode()


def create_app(config: GatewayConfig) -> Starlette:
    """The gateway as an ASGI application (run it with uvicorn; its lifespan opens the store and the upstream
    client)."""
    gateway = _Gateway(config)

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return openai_error(
                405, f"{request.method} is not allowed on {request.url.path}", kind="invalid_request_error"
            )
        return openai_error(
            404, f"unknown path {request.url.path}: this gateway serves /v1/chat/completions and /v1/models",
            kind="invalid_request_error", code="unknown_url",
        )  # fmt: skip

    async def failure(request: Request, exc: Exception) -> Response:
        _LOG.exception("the gateway failed on %s %s", request.method, request.url.path)
        return openai_error(500, "the gateway failed (see its log)", kind="server_error")

    return Starlette(
        routes=[
            Route("/v1/chat/completions", gateway.chat, methods=["POST"]),
            Route("/openai/deployments/{deployment}/chat/completions", gateway.chat, methods=["POST"]),
            Route("/v1/models", gateway.models, methods=["GET"]),
            Route("/healthz", gateway.health, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_found, Exception: failure},
        lifespan=gateway.lifespan,
    )


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def run_gateway(config: GatewayConfig, *, host: str = "127.0.0.1", port: int = 8080, access_log: bool = False) -> None:
    """Serve the gateway with uvicorn until interrupted (Ctrl-C or SIGTERM: what is queued is committed first);
    it prints the ``base_url`` for the application's client.

    Binding wider than loopback warns: anyone who can reach the port can then spend the upstream key, unless
    ``config.gateway_key`` is set.
    """
    import uvicorn

    # A store writer in a worker thread holds the interpreter while it prepares a commit; handing it back within
    # 0.5 ms rather than Python's default 5 ms keeps that out of the answers' latency.
    sys.setswitchinterval(0.0005)
    if host not in LOOPBACK:
        warnings.warn(
            f"the gateway listens on {host}, beyond this machine"
            + ("" if config.gateway_key else ": anyone who can reach it can use the upstream (set --gateway-key)"),
            stacklevel=2,
        )
    app = create_app(config)  # refuses a bad configuration before anything is said or opened
    where = f"[{host}]" if ":" in host else host
    print(f"recording {config.upstream} into {store_name(config.store)}", flush=True)
    print(f"base_url: http://{where}:{port}/v1", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=access_log,
        timeout_graceful_shutdown=30,
    )
