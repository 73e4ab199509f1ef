"""Nothing lost: ``slmswap gateway`` processes killed with SIGKILL under load from concurrent clients, restarted on
the same store, and run two at a time on one SQLite file and on one real PostgreSQL server (started here, from
Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from slmswap.gateway import EXCHANGE_HEADER, GatewayConfig, create_app, read_exchanges
from tests.gateway.conftest import TOOLS
from tests.gateway.slm_standin import small_model
from tests.gateway.standin import Received, free_port, serve_in_thread


@contextmanager
def gateway_process(
    upstream: str, store: str, log: Path, *options: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``slmswap gateway`` in a process of its own; yields its URL and the process."""
    port = free_port()
    command = ["gateway", "--upstream", upstream, "--store", store, "--port", str(port), *options]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "slmswap", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start within 60 s"
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Load:
    """Clients sending requests (every other one streamed) until told to stop or until the gateway is gone; each
    keeps the exchange id and the unique text of every request it saw answered in full."""

    def __init__(self, urls: list[str], clients: int, per_client: int | None = None) -> None:
        self.answered: list[tuple[str, str]] = []
        self.name = uuid.uuid4().hex[:8]  # every request's text is unique across loads
        self.failed = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._client, args=(urls[k % len(urls)], k, per_client), daemon=True)
            for k in range(clients)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=120)

    def _client(self, url: str, k: int, per_client: int | None) -> None:
        with httpx.Client(base_url=url, timeout=30, headers={"x-slmswap-tag": f"client-{k}"}) as client:
            j = 0
            while not self.stop.is_set() and (per_client is None or j < per_client):
                text = f"load {self.name} client {k} request {j}"
                body = {"model": "m", "messages": [{"role": "user", "content": text}], "stream": j % 2 == 1}
                if j % 4 == 1:
                    body["tools"] = TOOLS
                try:
                    response = client.post("/v1/chat/completions", json=body)
                except httpx.HTTPError:
                    return  # the gateway is gone
                complete = response.status_code == 200 and (not body["stream"] or "data: [DONE]" in response.text)
                with self._lock:
                    if complete:
                        self.answered.append((response.headers[EXCHANGE_HEADER], text))
                    else:
                        self.failed += 1
                j += 1


def _check_nothing_lost(store: str, load: Load) -> list[dict[str, object]]:
    rows = list(read_exchanges(store))
    ids = Counter(str(row["id"]) for row in rows)
    texts = Counter(str(row["messages"][0]["content"]) for row in rows)  # type: ignore[index]
    assert load.answered, "no request was answered"
    missing = [answered for answered in load.answered if answered[0] not in ids]
    assert missing == [], f"{len(missing)} answered exchanges are not in the store"
    assert max(ids.values()) == 1
    assert max(texts.values()) == 1, "an exchange was recorded twice"
    for exchange_id, text in load.answered:
        assert texts[text] == 1, (exchange_id, text)
    return rows


@pytest.mark.parametrize("mode", ["record", "canary"])
def test_kill_9_under_load_loses_no_answered_exchange_and_a_restart_carries_on(
    upstream: tuple[str, Received], tmp_path: Path, mode: str
) -> None:
    base, _ = upstream
    store = str(tmp_path / "traffic.db")
    with ExitStack() as stack:
        options: list[str] = []
        if mode == "canary":  # half the callers answered by a small model, the others by the LLM (and shadowed)
            small = stack.enter_context(small_model())
            options = ["--mode", "canary", "--fraction", "0.5", "--slm", small.url]
        url, process = stack.enter_context(gateway_process(base, store, tmp_path / "gateway.log", *options))
        load = stack.enter_context(Load([url], clients=16))
        deadline = time.monotonic() + 30
        while len(load.answered) < 150:
            assert time.monotonic() < deadline, f"only {len(load.answered)} answers in 30 s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # mid-load: requests in flight, rows queued or being committed
        process.wait()
        load.stop.set()
    rows = _check_nothing_lost(store, load)
    if mode == "canary":
        assert {row["answered_by"] for row in rows} == {"llm", "slm"}
    print(f"kill -9 after {len(load.answered)} answered exchanges: {len(rows)} rows, none missing, none twice")
    with gateway_process(base, store, tmp_path / "gateway.log") as (url, _), Load([url], 4, per_client=5) as again:
        pass
    assert len(again.answered) == 20
    assert again.failed == 0
    after = _check_nothing_lost(store, again)
    assert len(after) == len(rows) + 20


def test_two_gateways_on_one_sqlite_store_lose_nothing(upstream: tuple[str, Received], tmp_path: Path) -> None:
    base, _ = upstream
    store = str(tmp_path / "shared.db")
    with (
        gateway_process(base, store, tmp_path / "a.log") as (a, _),
        gateway_process(base, store, tmp_path / "b.log", "--sync", "full") as (b, _),
        Load([a, b], clients=16, per_client=12) as load,
    ):
        pass
    assert load.failed == 0
    rows = _check_nothing_lost(store, load)
    assert len(rows) == 16 * 12
    assert len({row["replica"] for row in rows}) == 2


def _initdb() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of this test's own, on a free port; its URL."""
    binaries = _initdb()
    if binaries is None:
        pytest.skip("Debian's postgresql package is not installed (tests/run.sh installs it with apt-get)")
    data = Path(tempfile.mkdtemp(prefix="slmswap-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the package's postgres user
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_user, str(binaries / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200"
    subprocess.run(
        [
            *as_user,
            str(binaries / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-o",
            options,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"], check=False)
        shutil.rmtree(data, ignore_errors=True)


def test_two_gateways_on_one_postgresql_store_lose_nothing_even_killed(
    upstream: tuple[str, Received], tmp_path: Path, postgres: str
) -> None:
    base, _ = upstream
    with (
        gateway_process(base, postgres, tmp_path / "a.log") as (a, first),
        gateway_process(base, postgres, tmp_path / "b.log") as (b, _),
    ):
        with Load([a, b], clients=16, per_client=12) as load:
            pass
        assert load.failed == 0
        rows = _check_nothing_lost(postgres, load)
        assert len(rows) == 16 * 12
        assert len({row["replica"] for row in rows}) == 2
        with Load([a], clients=8) as killed:
            while len(killed.answered) < 60:
                time.sleep(0.02)
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed.stop.set()
        killed_rows = _check_nothing_lost(postgres, killed)
        print(
            f"PostgreSQL replica killed after {len(killed.answered)} answered: none missing ({len(killed_rows)} rows)"
        )
        with Load([b], clients=4, per_client=5) as survivor:  # the other replica carries on
            pass
        assert len(survivor.answered) == 20
        _check_nothing_lost(postgres, survivor)


def test_listening_beyond_loopback_warns(upstream: tuple[str, Received], tmp_path: Path) -> None:
    base, _ = upstream
    log = tmp_path / "wide.log"
    with gateway_process(base, str(tmp_path / "t.db"), log, "--host", "0.0.0.0"):
        pass
    assert "listens on 0.0.0.0, beyond this machine" in log.read_text()
    assert "base_url: http://0.0.0.0:" in log.read_text()
    assert "set --gateway-key" in log.read_text()


def test_an_answer_no_database_takes_as_it_is_is_stored_and_passed_on(
    upstream: tuple[str, Received], postgres: str
) -> None:
    """NUL characters, a lone surrogate and NaN (valid JSON a model may produce; PostgreSQL refuses each) reach the
    client as given, and the row is stored, made storable; the other exchanges of the same commit are unharmed."""
    base, _ = upstream
    config = GatewayConfig(upstream=base, store=postgres)
    with serve_in_thread(create_app(config)) as url, httpx.Client(base_url=url, timeout=30) as client:
        body = {"model": "unstorable", "messages": [{"role": "user", "content": "x"}], "tools": TOOLS}
        answer = client.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
        assert b"\\u0000" in answer.content  # passed on as the upstream wrote it
        ids = {answer.headers[EXCHANGE_HEADER]}
        ids.add(client.post("/v1/chat/completions", json={**body, "model": "m"}).headers[EXCHANGE_HEADER])
    rows = {str(row["id"]): row for row in read_exchanges(postgres) if row["id"] in ids}
    assert len(rows) == 2
    stored = rows[answer.headers[EXCHANGE_HEADER]]
    assert stored["error"] is None
    assert stored["content"] == "nul \ufffd lone \ufffd"
    assert stored["tool_calls"][0]["function"]["arguments"] == {"x": "\ufffd"}  # type: ignore[index]
    assert stored["prompt_tokens"] is None  # NaN is no count
