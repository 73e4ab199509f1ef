"""``slmswap serve``: a thin launcher over real serving engines, never a server of slmswap's own.

``transformers serve`` (runs on CPU; extra ``serve``) by default, ``vllm serve`` when vLLM and a CUDA GPU are
present, each with the flags tool calling needs. The exported directory carries everything the engine reads:
the baked chat template and the ``response_template`` (transformers), the tool parser plugin (vLLM).
``transformers serve`` runs with :mod:`slmswap.serving.transformers_engine` around its response parsing, so
that both engines read a call to a tool the request did not offer as content.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from slmswap.errors import ConfigError
from slmswap.models import resolve_model
from slmswap.serving.vllm_parser import PLUGIN_PARSER_NAME, VLLM_PARSER_FILE
from slmswap.trained.manifest import Manifest

__all__ = ["Engine", "ServeCommand", "serve", "serve_command"]

Engine = Literal["auto", "transformers", "vllm"]
"""Which engine serves: ``auto`` picks vLLM when it and a CUDA GPU are present, else transformers."""


@dataclass(frozen=True)
class ServeCommand:
    """An engine's command line for an exported directory, and what an application puts in its client."""

    argv: list[str]
    base_url: str
    """For ``OpenAI(base_url=...)``."""
    model: str
    """For ``chat.completions.create(model=...)``."""
    engine: str


def _cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def _choose(engine: Engine) -> str:
    has_vllm = importlib.util.find_spec("vllm") is not None
    if engine == "auto":
        return "vllm" if has_vllm and _cuda() else "transformers"
    if engine == "vllm" and not has_vllm:
        raise ConfigError("vllm serve needs vLLM: pip install 'slmswap[vllm]' (on a machine with a CUDA GPU)")
    return engine


def serve_command(
    exported: str | Path, *, engine: Engine = "auto", host: str = "127.0.0.1", port: int = 8000
) -> ServeCommand:
    """The command that serves ``exported`` (a directory :func:`slmswap.export` wrote)."""
    directory = Path(exported).resolve()
    manifest = Manifest.load(directory)
    if manifest.export is None:
        raise ConfigError(
            f"{directory} is a training output, not an exported one: run 'slmswap export {exported} OUT --merge' "
            "first (the served chat template and response parser are written by export)"
        )
    chosen = _choose(engine)
    base_url = f"http://{host}:{port}/v1"
    if chosen == "transformers":
        if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
            raise ConfigError("transformers serve needs its serving extra: pip install 'slmswap[serve]'")
        if not manifest.export.merged:
            raise ConfigError(
                f"{directory} holds an adapter: transformers serve loads full models only. Export with --merge, "
                "or serve the adapter with vLLM (--engine vllm)"
            )
        engine_module = "slmswap.serving.transformers_engine"
        argv = [sys.executable, "-m", engine_module, "serve", str(directory), "--host", host, "--port", str(port)]
        return ServeCommand(argv, base_url, str(directory), chosen)
    plugin = directory / VLLM_PARSER_FILE
    if not plugin.is_file():
        raise ConfigError(f"{plugin}: missing; export again with this slmswap ('slmswap export MODEL OUT')")
    tools = ["--enable-auto-tool-choice", "--tool-call-parser", PLUGIN_PARSER_NAME, "--tool-parser-plugin", str(plugin)]
    common = ["--host", host, "--port", str(port), "--tokenizer", str(directory), *tools]
    if manifest.export.merged:
        argv = ["vllm", "serve", str(directory), *common]
        return ServeCommand(argv, base_url, str(directory), chosen)
    name = f"{directory.name}-lora"
    base = resolve_model(manifest.base_model)  # the embedded default model's converted directory, or the hub id
    argv = ["vllm", "serve", base, "--enable-lora", "--lora-modules", f"{name}={directory}", *common]
    return ServeCommand(argv, base_url, name, chosen)


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:  # loopback or the user's host
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def serve(
    exported: str | Path,
    *,
    engine: Engine = "auto",
    host: str = "127.0.0.1",
    port: int = 8000,
    startup_timeout: float = 600.0,
    say: Callable[[str], None] = print,
) -> int:
    """Run the engine on ``exported`` until it exits or Ctrl-C (SIGINT/SIGTERM) stops it; returns its exit code.

    Says the ``base_url`` and model name to put in the application, and when the server answers.
    """
    command = serve_command(exported, engine=engine, host=host, port=port)
    say(f"serving {command.model} with {command.engine}: {' '.join(command.argv)}")
    say(f"base_url: {command.base_url}")
    say(f"model:    {command.model}")
    received: list[int] = []

    def _stop(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    process: subprocess.Popen[bytes] | None = None
    timed_out = False
    try:
        process = subprocess.Popen(command.argv)
        started = time.monotonic()
        announced = False
        while process.poll() is None and not received:
            if not announced and _ready(command.base_url):
                say(f"ready after {time.monotonic() - started:.0f} s (Ctrl-C stops it)")
                announced = True
            elif not announced and time.monotonic() - started > startup_timeout:
                say(f"the server did not answer within {startup_timeout:.0f} s; stopping it")
                timed_out = True
                break
            time.sleep(0.5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if process is not None and process.poll() is None:
            # A Ctrl-C in the terminal reached the engine too (same process group); a second SIGINT would make
            # uvicorn or vLLM quit without shutting down. Anything else (SIGTERM, a timeout) is passed on once.
            if signal.SIGINT not in received:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if timed_out:
        return 1
    if received:
        return 0
    code = process.returncode if process is not None else 1
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N
