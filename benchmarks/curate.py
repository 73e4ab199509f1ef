"""Benchmark: curating a request log of 100,000 conversations (the issue's bar: at most 60 s and 2 GB on 2 cores).

The log is generated first (deterministic, no downloads): requests filled into a few thousand templates (a name,
a city and a date changed: near-duplicates), some repeated word for word (exact duplicates, a few answered
differently), some answered with calls of unoffered tools or arguments against the schema, cut off at the token
limit, upstream errors and empty answers. Then ``slmswap.curate`` runs on it in a fresh process (with the
control-token check on the default model's tokenizer), which reports its wall time, the part spent in MinHash
hashing and LSH, and its peak resident memory (``ru_maxrss``, the process's high-water mark, never reset).

    python benchmarks/curate.py --count 100000 --out benchmarks/results/curate.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": f"tool_{k}",
            "description": f"Tool number {k}.",
            "parameters": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "city": {"type": "string"}, "count": {"type": "integer"}},
                "required": ["name"],
            },
        },
    }
    for k in range(6)
]
NAMES = [f"Person{k}" for k in range(400)]
CITIES = [f"City{k}" for k in range(120)]


def _answer(tool: int, name: str, city: str, count: int) -> dict[str, Any]:
    arguments = json.dumps({"name": name, "city": city, "count": count})
    call = {"id": "call_0", "type": "function", "function": {"name": f"tool_{tool}", "arguments": arguments}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def generate_log(path: Path, count: int, seed: int = 0) -> None:
    """Write ``count`` request-log rows (OpenAI chat rows with ``finish_reason`` and ``error``) to ``path``."""
    rng = random.Random(seed)
    vocabulary = [f"w{k}" for k in range(20000)]
    templates = [(rng.randrange(len(TOOLS)), " ".join(rng.sample(vocabulary, 14))) for _ in range(count // 40)]
    system = {"role": "system", "content": "You are the booking assistant of a travel company."}
    with path.open("w", encoding="utf-8") as stream:
        previous: list[dict[str, Any]] = []
        for i in range(count):
            draw = rng.random()
            if draw < 0.08 and previous:  # a request seen before, word for word
                row = dict(rng.choice(previous), id=f"row{i}")
                if rng.random() < 0.1:
                    row["messages"] = [*row["messages"][:-1], {"role": "assistant", "content": "Which city?"}]
                stream.write(json.dumps(row) + "\n")
                continue
            tool, words = rng.choice(templates)
            name, city, count_value = rng.choice(NAMES), rng.choice(CITIES), rng.randint(1, 9)
            user = {"role": "user", "content": f"{words} for {name} in {city} on 2025-{rng.randint(1, 12):02d}-10"}
            answer: dict[str, Any] | None = _answer(tool, name, city, count_value)
            extra: dict[str, Any] = {"finish_reason": "tool_calls"}
            if draw < 0.09:
                answer = _answer(99, name, city, count_value)  # a tool not offered
            elif draw < 0.10:
                answer["tool_calls"][0]["function"]["arguments"] = json.dumps({"city": city})  # type: ignore[index]
            elif draw < 0.11:
                answer, extra = {"role": "assistant", "content": '{"name": "to'}, {"finish_reason": "length"}
            elif draw < 0.115:
                answer, extra = None, {"error": "HTTP 502 Bad Gateway"}
            elif draw < 0.12:
                answer = {"role": "assistant", "content": ""}
            elif draw < 0.2:
                answer = {"role": "assistant", "content": f"{name} has no booking in {city}."}
            messages = [system, user] + ([answer] if answer is not None else [])
            row = {"id": f"row{i}", "messages": messages, "tools": TOOLS, **extra}
            if len(previous) < 5000:
                previous.append(row)
            stream.write(json.dumps(row) + "\n")


def _curate(log: str, out: str) -> None:
    """In the child process: curate, then print the figures as JSON."""
    import slmswap

    started = time.perf_counter()
    curation = slmswap.curate(log, out)
    seconds = time.perf_counter() - started
    counts = curation.report.counts
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss  # KiB on Linux; the high-water mark, never reset
    print(
        json.dumps(
            {
                "seconds": seconds,
                "minhash_seconds": curation.minhash_seconds,
                "rest_seconds": seconds - curation.minhash_seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_rss_gib": peak / 2**20,
                "counts": counts.model_dump(),
                "leakage": curation.report.leakage.model_dump(),
                "lsh": [curation.report.settings.lsh_bands, curation.report.settings.lsh_rows],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    parser.add_argument("--child", nargs=2, metavar=("LOG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _curate(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        generate_log(log, args.count)
        command = [sys.executable, __file__, "--child", str(log), str(Path(tmp) / "curated")]
        if hasattr(os, "sched_setaffinity"):
            cores = sorted(os.sched_getaffinity(0))[:2]
            command = ["taskset", "-c", ",".join(map(str, cores)), *command]
        child = subprocess.run(command, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            sys.exit(f"the curation failed:\n{child.stderr}")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures["conversations"] = args.count
    figures["load_average"] = os.getloadavg()
    print(json.dumps(figures, indent=2))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
