"""Benchmark: the evaluator's greedy decoding loop vs transformers' ``generate``, on the demo's 40 held-out prompts.

Candidates, run interleaved (one round: each once, in turn) on one loaded model, base then tuned, so machine
load falls on all alike:

  generate        the previous path: ``model.generate`` (greedy, left-padded batch, stop ids) with its dynamic cache;
  loop            the new path (``TransformersBackend``): its own greedy loop, ended rows leave the batch and the
                  attention cache grows in place;
  static          ``model.generate`` with ``cache_implementation="static"``;
  generate_batch  transformers' continuous batching (``model.generate_batch``; free decoding only: it takes no
                  logits processors, so it cannot hold rows to a grammar);

then ``generate`` and ``loop`` again with constrained decoding (each prompt held to the format's grammar for its
tools). Every candidate's answers (token ids, cut after the first stop token) are compared with ``generate``'s.
It prints and writes the speed-up of ``loop`` over ``generate``, ``identical_answers``, decode steps/s (forward
passes after the prefill, per second of them) and the two bounds of a decode step of the full batch, measured in
the same run: compute bound = the measured GEMM rate (every linear layer of the model at its shape, batch rows)
/ FLOPs per step; memory bound = the measured read bandwidth / bytes read per step (weights + attention cache).
``uptime`` is recorded at start and end (others may share the machine).

    python benchmarks/generate.py --tuned slmswap-demo/adapter --threads 1 --out benchmarks/results/generate.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slmswap.evaluation.backend import Prompt
from slmswap.evaluation.generation import TransformersBackend, _cache_bytes_per_token


class Recording(TransformersBackend):
    """The new path, keeping every answer's token ids (cut after the first stop token) of the last call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[list[int]] = []

    def generate_ids(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        """The token ids of each prompt's answer, in the given order."""
        self.answers = []
        generations = self.generate(prompts)
        order = sorted(
            range(len(prompts)),
            key=lambda i: len(self.tokenizer(prompts[i].text, add_special_tokens=False)["input_ids"]),
        )
        ids: dict[int, list[int]] = dict(zip(order, self.answers, strict=True))
        assert [len(ids[i]) for i in range(len(prompts))] == [g.tokens for g in generations]
        return [ids[i] for i in range(len(prompts))]

    def _decode(self, ids: Any, mask: Any, processors: Any) -> list[list[int]]:
        answers = [self._cut(row) for row in self._answers(ids, mask, processors)]
        self.answers.extend(answers)
        return answers

    def _answers(self, ids: Any, mask: Any, processors: Any) -> list[list[int]]:
        return super()._decode(ids, mask, processors)

    def _cut(self, row: list[int]) -> list[int]:
        return next((row[: j + 1] for j, token in enumerate(row) if token in self._stop_ids), row)


class Generate(Recording):
    """The previous path: ``model.generate`` (``cache_implementation`` as given)."""

    def __init__(self, *args: Any, cache_implementation: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_implementation = cache_implementation

    def _answers(self, ids: Any, mask: Any, processors: Any) -> list[list[int]]:
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        model: Any = self.model
        output = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            eos_token_id=self._stop_ids or None,
            pad_token_id=pad,
            logits_processor=processors,
            cache_implementation=self.cache_implementation,
        )
        return [row.tolist() for row in output[:, ids.shape[1] :]]


def generate_batch(backend: Recording, prompts: Sequence[Prompt]) -> list[list[int]]:
    """The answers of transformers' continuous batching (``generate_batch``), greedy, with the backend's stops."""
    import torch
    from transformers import GenerationConfig

    tokenizer, model = backend.tokenizer, _inner(backend.model)
    inputs = [tokenizer(p.text, add_special_tokens=False)["input_ids"] for p in prompts]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config = GenerationConfig(  # type: ignore[no-untyped-call]
        do_sample=False, max_new_tokens=backend.max_new_tokens, eos_token_id=backend._stop_ids, pad_token_id=pad
    )
    with torch.no_grad():
        outputs = model.generate_batch(inputs, generation_config=config, progress_bar=False)
    by_prompt = {tuple(out.prompt_ids): backend._cut(list(out.generated_tokens)) for out in outputs.values()}
    return [by_prompt[tuple(ids)] for ids in inputs]


class ForwardClock:
    """Times every forward pass of a model (a pre- and a post-hook): prefills (more than one new token) and
    decode steps apart."""

    def __init__(self, model: Any) -> None:
        inner = _inner(model)
        self.prefill_s = self.decode_s = 0.0
        self.steps = 0
        self._start = 0.0
        self._prefill = False
        self._handles = [
            inner.register_forward_pre_hook(self._before, with_kwargs=True),
            inner.register_forward_hook(self._after),
        ]

    def _before(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        self._prefill = ids is not None and ids.shape[-1] > 1
        self._start = time.perf_counter()

    def _after(self, module: Any, args: Any, output: Any) -> None:
        took = time.perf_counter() - self._start
        if self._prefill:
            self.prefill_s += took
        else:
            self.decode_s += took
            self.steps += 1

    def reset(self) -> None:
        self.prefill_s = self.decode_s = 0.0
        self.steps = 0

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


def bounds(model: Any, rows: int, context: float) -> dict[str, float]:
    """Compute and memory bounds (steps/s) of one decode step of ``rows`` rows at mean ``context`` tokens,
    from a GEMM rate and a read bandwidth measured now."""
    import torch

    config = model.config.get_text_config()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and min(m.weight.shape) > 64]  # no LoRA
    shapes = [tuple(m.weight.shape) for m in linears]
    heads, head_dim = int(config.num_attention_heads), int(config.hidden_size) // int(config.num_attention_heads)
    attention = 2 * 2 * rows * heads * head_dim * context * int(config.num_hidden_layers)
    linear_flops = sum(2 * rows * o * i for o, i in shapes)
    with torch.no_grad():
        x = {i: torch.randn(rows, i) for _, i in shapes}
        weights = [torch.randn(o, i) for o, i in shapes]
        for w in weights:
            torch.nn.functional.linear(x[w.shape[1]], w)
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for w in weights:
                torch.nn.functional.linear(x[w.shape[1]], w)
            best = min(best, time.perf_counter() - started)
        gemm_rate = linear_flops / best
        block = torch.randn(1 << 28)  # 1 GiB, beyond any cache
        block.sum()
        read = min(_timed(block.sum) for _ in range(5))
        bandwidth = block.numel() * block.element_size() / read
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    cache_bytes = _cache_bytes_per_token(model) * rows * context
    flops = linear_flops + attention
    return {
        "rows": rows,
        "mean_context": context,
        "gemm_gflops_per_s": gemm_rate / 1e9,
        "flops_per_step": flops,
        "compute_bound_steps_per_s": gemm_rate / flops,
        "read_gb_per_s": bandwidth / 1e9,
        "bytes_per_step": weight_bytes + cache_bytes,
        "memory_bound_steps_per_s": bandwidth / (weight_bytes + cache_bytes),
    }


def _backend(name: str, model: Any, tokenizer: Any, budget: int, threads: int | None) -> Recording:
    """The backend of candidate ``name`` (``generate_batch`` runs outside it, with its stops and budget)."""
    kwargs: dict[str, Any] = {"max_new_tokens": budget, "threads": threads}
    if name == "generate":
        return Generate(model, tokenizer, **kwargs)
    if name == "static":
        return Generate(model, tokenizer, cache_implementation="static", **kwargs)
    return Recording(model, tokenizer, **kwargs)


def _load(tuned: Path | None) -> tuple[Any, Any, Any]:
    """The base model (``tuned`` is ``None``) or a training output: model, tokenizer, format."""
    import slmswap
    from slmswap.trained.load import load_trained

    if tuned is not None:
        return load_trained(tuned)[:3]
    model: Any = slmswap.load_model()
    return model.eval(), slmswap.load_tokenizer(), slmswap.get_format("hermes")


def _inner(model: Any) -> Any:
    """The transformers model inside a peft model (its adapter layers in place), or ``model`` itself."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    import torch

    from slmswap.data.demo import load_demo_dataset
    from slmswap.evaluation.prompts import answer_budget, eval_items

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=40, help="held-out demo prompts (default 40, as the demo)")
    parser.add_argument("--tuned", type=Path, default=None, help="a training output (slmswap demo's OUT/adapter)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="answer budget (default: the demo's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the free cores)")
    parser.add_argument(
        "--candidates", default="generate,loop,static,generate_batch", help="comma-separated, generate first"
    )
    parser.add_argument("--tuned-candidates", default="generate,loop", help="those run on the tuned model")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/generate.json"))
    args = parser.parse_args()
    candidates, tuned_candidates = args.candidates.split(","), args.tuned_candidates.split(",")
    result: dict[str, Any] = {"uptime_start": _uptime(), "threads": args.threads, "models": {}}
    print(result["uptime_start"], flush=True)

    test = load_demo_dataset("test")[: args.prompts]
    for label in ["base"] + (["tuned"] if args.tuned is not None else []):
        model, tokenizer, fmt = _load(None if label == "base" else args.tuned)
        items, _ = eval_items(test, tokenizer, fmt)
        constrained_items, _ = eval_items(test, tokenizer, fmt, constrained=True)
        budget = args.max_new_tokens or answer_budget(items, tokenizer, fmt)
        free = [item.prompt for item in items]
        held = [item.prompt for item in constrained_items]
        names = candidates if label == "base" else tuned_candidates
        plan = [(name, False) for name in names] + [(name, True) for name in ("generate", "loop")]
        backends = {name: _backend(name, model, tokenizer, budget, args.threads) for name in names}
        clock = ForwardClock(model)
        entry: dict[str, Any] = {"answer_budget": budget, "prompts": len(free), "runs": {}}
        answers: dict[str, list[list[int]]] = {}
        for name, constrained in plan:
            key = f"{name}_constrained" if constrained else name
            if args.threads is not None:
                torch.set_num_threads(args.threads)
            clock.reset()
            started = time.perf_counter()
            try:
                prompts = held if constrained else free
                backend = backends[name]
                answers[key] = (
                    generate_batch(backend, prompts) if name == "generate_batch" else backend.generate_ids(prompts)
                )
            except Exception as exc:  # a candidate transformers cannot run here is reported, not fatal
                entry["runs"][key] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"{label} {key:<22} failed: {exc}", flush=True)
                continue
            seconds = time.perf_counter() - started
            reference = answers["generate_constrained" if constrained else "generate"]
            run = {
                "seconds": seconds,
                "tokens": sum(len(a) for a in answers[key]),
                "identical_to_generate": answers[key] == reference,
                "differing_answers": sum(a != b for a, b in zip(answers[key], reference, strict=True)),
                "prefill_s": clock.prefill_s,
                "decode_steps": clock.steps,
                "decode_steps_per_s": clock.steps / clock.decode_s if clock.decode_s else None,
            }
            entry["runs"][key] = run
            print(
                f"{label} {key:<22} {seconds:6.1f} s, prefill {clock.prefill_s:5.1f} s, {clock.steps} decode steps "
                f"at {run['decode_steps_per_s'] or 0:.2f}/s, identical to generate: {run['identical_to_generate']}",
                flush=True,
            )
        clock.close()
        done = entry["runs"]
        entry["speedup_loop_vs_generate"] = done["generate"]["seconds"] / done["loop"]["seconds"]
        entry["speedup_loop_vs_generate_constrained"] = (
            done["generate_constrained"]["seconds"] / done["loop_constrained"]["seconds"]
        )
        entry["identical_answers"] = (
            done["loop"]["identical_to_generate"] and done["loop_constrained"]["identical_to_generate"]
        )
        lengths = [len(tokenizer(p.text, add_special_tokens=False)["input_ids"]) for p in free]
        mean_answer = sum(len(a) for a in answers["generate"]) / len(free)
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        entry["bounds"] = bounds(model, len(free), sum(lengths) / len(lengths) + mean_answer / 2)
        result["models"][label] = entry
        b = entry["bounds"]
        print(
            f"{label}: loop vs generate {entry['speedup_loop_vs_generate']:.2f}x free, "
            f"{entry['speedup_loop_vs_generate_constrained']:.2f}x constrained; identical answers: "
            f"{entry['identical_answers']}; bounds for {b['rows']} rows: compute {b['compute_bound_steps_per_s']:.2f} "
            f"steps/s ({b['gemm_gflops_per_s']:.0f} GFLOP/s), memory {b['memory_bound_steps_per_s']:.2f} steps/s "
            f"({b['read_gb_per_s']:.1f} GB/s)",
            flush=True,
        )
        del model
    result["identical_answers"] = all(m["identical_answers"] for m in result["models"].values())
    result["uptime_end"] = _uptime()
    print(result["uptime_end"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
