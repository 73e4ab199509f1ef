"""Benchmark: training-data preparation, slmswap vs TRL vs a bare render + tokenize, in one run.

On N generated multi-turn tool-calling conversations rendered with Qwen 2.5's chat template (shipped in TRL,
applied to SmolLM2's tokenizer), it times

  (a) slmswap: ``prepare_dataset`` with the native format (assistant-only labels for any template);
  (b) TRL: ``SFTTrainer`` dataset preparation with ``assistant_only_loss=True`` on the same messages and tools;
  (c) bare: ``tokenizer.apply_chat_template(..., tokenize=False)`` on every conversation, then one batched
      tokenizer call (no masks at all); and the same with the faster renderer slmswap itself uses;

each in a fresh process, reporting wall time, examples/s, peak resident memory, and the ratios a/b and a/c.

    python benchmarks/prepare.py --count 5000 --out benchmarks/results/prepare.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def _tokenizer() -> Any:
    import trl

    import slmswap

    tokenizer = slmswap.load_tokenizer()
    tokenizer.chat_template = (Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja").read_text()
    return tokenizer


def _run_slmswap(count: int, num_proc: int | None) -> dict[str, Any]:
    from _data import tool_conversations

    from slmswap.formats import get_format
    from slmswap.templates import prepare_dataset

    tokenizer = _tokenizer()
    conversations = tool_conversations(count)
    fmt = get_format("native", tokenizer=tokenizer)
    started = time.perf_counter()
    prepared = prepare_dataset(conversations, tokenizer, fmt, num_proc=num_proc)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kept": prepared.stats.kept, "trained_tokens": prepared.stats.trained_tokens}


def _run_trl(count: int) -> dict[str, Any]:
    from _data import tool_conversations
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    import slmswap
    from slmswap.formats import get_format

    tokenizer = _tokenizer()
    fmt = get_format("native", tokenizer=tokenizer)
    rows = []
    for conversation in tool_conversations(count):
        chat = fmt.chat_input(conversation)
        rows.append({"messages": chat.messages, "tools": json.dumps(chat.tools)})
    dataset = Dataset.from_list(rows)
    model = slmswap.load_model()
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out, assistant_only_loss=True, report_to=[], max_length=None, bf16=False, use_cpu=True
        )
        started = time.perf_counter()
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        seconds = time.perf_counter() - started
    labels = trainer.train_dataset["labels"] if "labels" in trainer.train_dataset.column_names else []
    trained = sum(sum(1 for x in row if x != -100) for row in labels)
    return {"seconds": seconds, "kept": len(trainer.train_dataset), "trained_tokens": trained}


def _run_bare(count: int, renderer: str) -> dict[str, Any]:
    from _data import tool_conversations

    from slmswap.formats import get_format

    tokenizer = _tokenizer()
    conversations = tool_conversations(count)
    fmt = get_format("native", tokenizer=tokenizer)
    started = time.perf_counter()
    if renderer == "transformers":
        chats = [fmt.chat_input(conversation) for conversation in conversations]
        texts = [tokenizer.apply_chat_template(c.messages, tools=c.tools, tokenize=False) for c in chats]
    else:  # the faster renderer slmswap itself uses
        texts = [fmt.render(tokenizer, conversation) for conversation in conversations]
    encoded = tokenizer(texts, add_special_tokens=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kept": len(encoded["input_ids"]), "trained_tokens": None}


def _child(name: str, count: int, num_proc: int | None) -> dict[str, Any]:
    if name == "slmswap":
        result = _run_slmswap(count, num_proc)
    elif name == "trl":
        result = _run_trl(count)
    else:
        result = _run_bare(count, "transformers" if name == "bare" else "slmswap")
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure(name: str, count: int, num_proc: int | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh process (so peak memory is its own)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result: dict[str, Any] = pool.submit(_child, name, count, num_proc).result()
    result["examples_per_s"] = count / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000, help="conversations to prepare (default 5000)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/prepare.json"))
    args = parser.parse_args()

    results = {
        "slmswap": measure("slmswap", args.count),
        "slmswap_num_proc_2": measure("slmswap", args.count, num_proc=2),
        "trl": measure("trl", args.count),
        "bare": measure("bare", args.count),
        "bare_slmswap_renderer": measure("bare_slmswap_renderer", args.count),
    }
    ratios = {
        "slmswap_vs_trl_time": results["slmswap"]["seconds"] / results["trl"]["seconds"],
        "slmswap_vs_bare_time": results["slmswap"]["seconds"] / results["bare"]["seconds"],
        "slmswap_num_proc_2_vs_trl_time": results["slmswap_num_proc_2"]["seconds"] / results["trl"]["seconds"],
        "slmswap_vs_bare_slmswap_renderer_time": results["slmswap"]["seconds"]
        / results["bare_slmswap_renderer"]["seconds"],
    }
    print(f"{'run':<24}{'seconds':>10}{'examples/s':>12}{'peak RSS MiB':>14}{'trained tokens':>16}")
    for name, row in results.items():
        trained = "-" if row["trained_tokens"] is None else str(row["trained_tokens"])
        print(
            f"{name:<24}{row['seconds']:>10.2f}{row['examples_per_s']:>12.0f}{row['peak_rss_mib']:>14.0f}{trained:>16}"
        )
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"count": args.count, "results": results, "ratios": ratios}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
