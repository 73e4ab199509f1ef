"""Benchmark: what the gateway adds, side by side in one run: clients straight to an upstream, then through
``slmswap gateway`` (recording into SQLite), at 1, 16 and 64 concurrent clients.

The upstream is a minimal ASGI app under uvicorn that answers a fixed completion after a fixed delay, so this
measures the gateway, not a model. The upstream, the gateway and the clients each run in a process of their own
(the clients are a small keep-alive HTTP/1.1 client on asyncio, cheap enough not to be what is measured).
Phases alternate direct and gateway at each concurrency; each phase runs for ``--seconds``.

Reported: latency p50/p99 each way and what the gateway adds; requests/s each way; the gateway process's CPU
time per request (what bounds its throughput on one core, whatever else the machine runs); the rows the store holds
(every answered request must have one) and the recorded requests/s at the highest concurrency; streaming
time-to-first-chunk each way; and shadow mode against record mode (a second gateway whose small model answers
after ``--slm-delay-ms``), phases alternated, the client's added latency. Goals on 2 cores: added p50 <= 3 ms and
p99 <= 15 ms at 16 clients, >= 500 recorded requests/s, streaming time-to-first-chunk added <= 5 ms, shadow mode
adding <= 5 ms at p50. The load average (``uptime``) is recorded: other work on the machine falls on both sides
alike but widens the tails.

    python benchmarks/gateway.py --out benchmarks/results/gateway.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_0",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138},
    }
).encode()

_CHUNK = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "bench"}
STREAM = [
    f"data: {json.dumps({**_CHUNK, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]})}\n\n".encode()
    for delta, finish in [
        ({"role": "assistant", "content": "The weather"}, None),
        ({"content": " in Paris is"}, None),
        ({"content": " mild."}, None),
        ({}, "stop"),
    ]
] + [b"data: [DONE]\n\n"]

REQUEST = json.dumps(
    {
        "model": "bench",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the weather in Paris?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        "temperature": 0,
    }
).encode()
STREAM_REQUEST = json.dumps({**json.loads(REQUEST), "stream": True}).encode()


def upstream_app(delay: float) -> Any:
    """The minimal upstream: a fixed answer (or a fixed stream, when asked) after ``delay`` seconds."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await asyncio.sleep(delay)
        if b'"stream": true' in body:
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
            )
            for event in STREAM:
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": ANSWER})

    return app


class Connection:
    """One keep-alive HTTP/1.1 connection: POST a body, read the whole answer (content-length or chunked)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, f"127.0.0.1:{port}")

    async def post(self, body: bytes) -> tuple[float, float, bytes]:
        """Seconds to the first body bytes and to the end, and the body."""
        started = time.perf_counter()
        self.writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + self.host.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {head!r}")
        headers = head.lower()
        if b"transfer-encoding: chunked" in headers:
            parts, first = [], None
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
                first = first or time.perf_counter()
            return (first or time.perf_counter()) - started, time.perf_counter() - started, b"".join(parts)
        length = int(headers.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
        body_bytes = await self.reader.readexactly(length)
        end = time.perf_counter() - started
        return end, end, body_bytes


async def load(port: int, clients: int, seconds: float, body: bytes) -> dict[str, Any]:
    """``clients`` connections posting ``body`` back to back for ``seconds``: latencies and throughput."""
    connections = [await Connection.open(port) for _ in range(clients)]
    firsts: list[float] = []
    totals: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(connection: Connection) -> None:
        while time.perf_counter() < stop:
            first, total, _ = await connection.post(body)
            firsts.append(first)
            totals.append(total)

    started = time.perf_counter()
    await asyncio.gather(*(client(connection) for connection in connections))
    took = time.perf_counter() - started
    for connection in connections:
        connection.writer.close()
    return {
        "requests": len(totals),
        "requests_per_s": len(totals) / took,
        "p50_ms": _percentile(totals, 0.50) * 1000,
        "p99_ms": _percentile(totals, 0.99) * 1000,
        "first_chunk_p50_ms": _percentile(firsts, 0.50) * 1000,
        "first_chunk_p99_ms": _percentile(firsts, 0.99) * 1000,
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"a server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("a server did not start within 60 s") from None
            time.sleep(0.1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rows(store: Path) -> int:
    with sqlite3.connect(store) as connection:
        count: int = connection.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]
        return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the upstream's fixed delay (default 20)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each phase (default 4)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--slm-delay-ms", type=float, default=1000.0, help="the shadowed small model's delay")
    parser.add_argument("--shadow-clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gateway.json"))
    parser.add_argument("--upstream-only", type=float, help=argparse.SUPPRESS)  # the upstream process's entry
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream_only is not None:
        import uvicorn

        uvicorn.run(upstream_app(args.upstream_only / 1000), port=args.port, log_level="warning", access_log=False)
        return

    workdir = Path(tempfile.mkdtemp(prefix="slmswap-gateway-bench-"))
    store = workdir / "traffic.db"
    upstream_port, gateway_port, slm_port, shadow_port = _free_port(), _free_port(), _free_port(), _free_port()
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--upstream-only", str(args.delay_ms), "--port", str(upstream_port)]
    )
    slm = subprocess.Popen(
        [sys.executable, __file__, "--upstream-only", str(args.slm_delay_ms), "--port", str(slm_port)]
    )
    gateway = subprocess.Popen(
        [sys.executable, "-m", "slmswap", "gateway", "--upstream", f"http://127.0.0.1:{upstream_port}/v1",
         "--store", str(store), "--port", str(gateway_port)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    shadow = subprocess.Popen(
        [sys.executable, "-m", "slmswap", "gateway", "--upstream", f"http://127.0.0.1:{upstream_port}/v1",
         "--store", str(workdir / "shadow.db"), "--port", str(shadow_port), "--mode", "shadow",
         "--slm", f"http://127.0.0.1:{slm_port}/v1", "--slm-timeout", str(args.slm_delay_ms / 1000 * 5)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    result: dict[str, Any] = {
        "delay_ms": args.delay_ms,
        "seconds_per_phase": args.seconds,
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "plain": {},
        "stream": {},
        "shadow": {},
    }
    try:
        _wait(upstream_port, upstream)
        _wait(gateway_port, gateway)
        _wait(slm_port, slm)
        _wait(shadow_port, shadow)
        asyncio.run(load(gateway_port, 4, 1.0, REQUEST))  # warm both up (connections, first-request paths)
        asyncio.run(load(shadow_port, 4, 1.0, REQUEST))
        recorded_before = _rows(store)
        gateway_requests = 0
        for clients in args.clients:
            direct = asyncio.run(load(upstream_port, clients, args.seconds, REQUEST))
            cpu = _cpu_seconds(gateway.pid)
            through = asyncio.run(load(gateway_port, clients, args.seconds, REQUEST))
            through["gateway_cpu_ms_per_request"] = (_cpu_seconds(gateway.pid) - cpu) / through["requests"] * 1000
            gateway_requests += through["requests"]
            entry = {
                "direct": direct,
                "gateway": through,
                "added_p50_ms": through["p50_ms"] - direct["p50_ms"],
                "added_p99_ms": through["p99_ms"] - direct["p99_ms"],
                "throughput_ratio": through["requests_per_s"] / direct["requests_per_s"],
            }
            result["plain"][str(clients)] = entry
            print(
                f"plain  {clients:3d} clients: direct p50 {direct['p50_ms']:6.2f} p99 {direct['p99_ms']:6.2f} ms "
                f"{direct['requests_per_s']:6.0f}/s | gateway p50 {through['p50_ms']:6.2f} p99 {through['p99_ms']:6.2f}"
                f" ms {through['requests_per_s']:6.0f}/s | added p50 {entry['added_p50_ms']:+.2f} p99 "
                f"{entry['added_p99_ms']:+.2f} ms, throughput x{entry['throughput_ratio']:.2f}, gateway CPU "
                f"{through['gateway_cpu_ms_per_request']:.2f} ms/request",
                flush=True,
            )
        for clients in (1, 16):
            direct = asyncio.run(load(upstream_port, clients, args.seconds, STREAM_REQUEST))
            through = asyncio.run(load(gateway_port, clients, args.seconds, STREAM_REQUEST))
            gateway_requests += through["requests"]
            entry = {
                "direct": direct,
                "gateway": through,
                "added_first_chunk_p50_ms": through["first_chunk_p50_ms"] - direct["first_chunk_p50_ms"],
                "added_first_chunk_p99_ms": through["first_chunk_p99_ms"] - direct["first_chunk_p99_ms"],
            }
            result["stream"][str(clients)] = entry
            print(
                f"stream {clients:3d} clients: first chunk direct p50 {direct['first_chunk_p50_ms']:6.2f} ms, gateway "
                f"p50 {through['first_chunk_p50_ms']:6.2f} ms: added {entry['added_first_chunk_p50_ms']:+.2f} ms "
                f"(p99 {entry['added_first_chunk_p99_ms']:+.2f} ms)",
                flush=True,
            )
        for clients in args.shadow_clients:  # record and shadow alternated, twice each: the same machine state
            phases: dict[str, list[dict[str, Any]]] = {"record": [], "shadow": []}
            for _ in range(2):
                phases["record"].append(asyncio.run(load(gateway_port, clients, args.seconds / 2, REQUEST)))
                phases["shadow"].append(asyncio.run(load(shadow_port, clients, args.seconds / 2, REQUEST)))
            gateway_requests += sum(phase["requests"] for phase in phases["record"])
            p50 = {mode: float(np.median([phase["p50_ms"] for phase in runs])) for mode, runs in phases.items()}
            p99 = {mode: float(np.median([phase["p99_ms"] for phase in runs])) for mode, runs in phases.items()}
            result["shadow"][str(clients)] = {
                "phases": phases,
                "record_p50_ms": p50["record"],
                "shadow_p50_ms": p50["shadow"],
                "added_p50_ms": p50["shadow"] - p50["record"],
                "added_p99_ms": p99["shadow"] - p99["record"],
            }
            print(
                f"shadow {clients:3d} clients: record p50 {p50['record']:6.2f} ms, shadow (a small model taking "
                f"{args.slm_delay_ms:.0f} ms) p50 {p50['shadow']:6.2f} ms: added {p50['shadow'] - p50['record']:+.2f}"
                f" ms (p99 {p99['shadow'] - p99['record']:+.2f} ms)",
                flush=True,
            )
        rows = _rows(store) - recorded_before
        top = result["plain"][str(max(args.clients))]["gateway"]
        result["rows_recorded"] = rows
        result["gateway_requests_answered"] = gateway_requests
        result["recorded_requests_per_s"] = top["requests_per_s"]
        result["load_average_after"] = os.getloadavg()
        print(f"store: {rows} rows for {gateway_requests} answered gateway requests (every answer committed first)")
        print(f"recorded requests/s at {max(args.clients)} clients: {top['requests_per_s']:.0f}")
        print(f"load average before/after: {result['load_average_before']} / {result['load_average_after']}")
        if rows != gateway_requests:
            raise SystemExit(f"the store holds {rows} rows for {gateway_requests} answered requests")
    finally:
        for process in (shadow, gateway, slm, upstream):
            process.terminate()
            process.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
