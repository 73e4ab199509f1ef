"""Benchmark: the live verdict's statistics by simulation, and its speed.

1. Peeking. Streams of agreement values (Bernoulli at several rates, and a Beta), each checked after every
   observation: how often the betting confidence sequence ever excludes the true mean, against a fixed-n 95 %
   interval (Wilson for Bernoulli streams, the normal interval otherwise) checked the same way (from the first
   observation, and from the 30th), and that interval at the one fixed n it is made for.
2. The issue's test: streams whose true agreement sits exactly at the bar (0.90), the verdict checked after
   every request: the share of streams ever shown a false "cut over", against the Wilson interval's lower bound
   reaching the bar.
3. How long a cut-over takes: the paired requests until "cut over" (true rate above the bar) or "stop" (below).
4. Speed: ``live_verdict`` on a planted JSON-lines file.

Candidate means are tested with :func:`slmswap.live.exclusion_times` (the truth or the bar on the grid: exactly
what :func:`slmswap.live.confidence_sequence` reports there; tests/live/test_confidence.py checks the two agree).

    python benchmarks/live_verdict.py --streams 1000 --length 2000 --out benchmarks/results/live_verdict.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from slmswap.live import exclusion_times, live_verdict

Z95 = 1.959963984540054
SETTINGS = [("bernoulli", 0.05), ("bernoulli", 0.5), ("bernoulli", 0.9), ("bernoulli", 0.97), ("beta", 0.3)]


def _streams(kind: str, mean: float, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if kind == "bernoulli":
        return (rng.random(shape) < mean).astype(np.float64)
    return rng.beta(mean * 6, (1 - mean) * 6, size=shape)


def _fixed_n(values: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-n 95 % interval after each observation, as a dashboard recomputes it."""
    n = np.arange(1, values.shape[1] + 1)
    share = np.cumsum(values, axis=1) / n
    if kind == "bernoulli":  # Wilson
        centre = (share + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 * np.sqrt(share * (1 - share) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
        return centre - half, centre + half
    spread = np.sqrt(np.maximum(np.cumsum(values**2, axis=1) / n - share**2, 0) / np.maximum(n - 1, 1))
    return share - Z95 * spread, share + Z95 * spread


def peeking(streams: int, length: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for kind, mean in SETTINGS:
        values = _streams(kind, mean, (streams, length), rng)
        below, above = exclusion_times(values, np.full((streams, 1), mean))
        low, high = _fixed_n(values, kind)
        outside = (low > mean) | (high < mean)
        rows.append(
            {
                "stream": f"{kind}({mean})",
                "confidence_sequence_ever_wrong": float((np.isfinite(below) | np.isfinite(above)).mean()),
                "fixed_n_peeked_ever_wrong": float(outside.any(axis=1).mean()),
                "fixed_n_peeked_from_30_ever_wrong": float(outside[:, 29:].any(axis=1).mean()),
                "fixed_n_at_the_end_wrong": float(outside[:, -1].mean()),
            }
        )
    return rows


def at_the_bar(streams: int, length: int, rng: np.random.Generator, bar: float = 0.9) -> dict[str, Any]:
    values = (rng.random((streams, length)) < bar).astype(np.float64)
    below, _ = exclusion_times(values, np.full((streams, 1), bar))
    low, _ = _fixed_n(values, "bernoulli")
    return {
        "bar": bar,
        "false_cut_over": float(np.isfinite(below).mean()),
        "wilson_false_cut_over": float((low >= bar).any(axis=1).mean()),
        "wilson_false_cut_over_from_30": float((low[:, 29:] >= bar).any(axis=1).mean()),
    }


def time_to_decide(streams: int, rng: np.random.Generator, bar: float = 0.9) -> list[dict[str, Any]]:
    rows = []
    for rate in (0.80, 0.85, 0.93, 0.95, 0.97, 0.99):
        values = (rng.random((streams, 20000)) < rate).astype(np.float64)
        below, above = exclusion_times(values, np.full((streams, 1), bar))
        when = np.minimum(below, above)[:, 0]
        rows.append(
            {
                "true_rate": rate,
                "decision": "cut over" if rate > bar else "stop",
                "decided_within_20000": float(np.isfinite(when).mean()),
                "median_requests": float(np.median(when)),
                "p90_requests": float(np.percentile(when, 90)),
            }
        )
    return rows


def speed(count: int) -> dict[str, Any]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.live.pairs import planted, write_jsonl

    with tempfile.TemporaryDirectory() as directory:
        path = write_jsonl(Path(directory) / "pairs.jsonl", planted(0.95, count))
        started = time.perf_counter()
        report = live_verdict(path)
        seconds = time.perf_counter() - started
    return {"rows": count, "seconds": round(seconds, 2), "verdict": report.verdict.describe()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=10000, help="rows for the speed test")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    results = {
        "streams": args.streams,
        "length": args.length,
        "peeking": peeking(args.streams, args.length, rng),
        "at_the_bar": at_the_bar(args.streams, args.length, rng),
        "time_to_decide": time_to_decide(min(args.streams, 200), rng),
        "speed": speed(args.rows),
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
