"""Benchmark: batched vs one-at-a-time greedy generation on the default model, in one run.

Renders N tool-calling prompts with the Hermes format through SmolLM2's own template, generates with batch size
1 and with batch size B, checks the outputs are identical, and prints examples/s and the ratio.

    python benchmarks/generate.py --prompts 32 --batch-size 32 --out benchmarks/results/generate.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    from _data import tool_conversations

    import slmswap
    from slmswap.evaluation import TransformersBackend
    from slmswap.formats import get_format
    from slmswap.schema import Conversation

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/generate.json"))
    args = parser.parse_args()

    tokenizer = slmswap.load_tokenizer()
    model = slmswap.load_model().eval()
    fmt = get_format("hermes")
    prompts = [
        fmt.render(tokenizer, Conversation(messages=c.messages[:2], tools=c.tools), add_generation_prompt=True)
        for c in tool_conversations(args.prompts, seed=1)
    ]
    timings = {}
    outputs = {}
    for batch_size in (1, args.batch_size):
        generator = TransformersBackend(model, tokenizer, batch_size=batch_size, max_new_tokens=args.max_new_tokens)
        started = time.perf_counter()
        outputs[batch_size] = [g.text for g in generator.generate(prompts)]
        timings[batch_size] = time.perf_counter() - started
    identical = outputs[1] == outputs[args.batch_size]
    result = {
        "prompts": args.prompts,
        "max_new_tokens": args.max_new_tokens,
        "one_at_a_time_examples_per_s": args.prompts / timings[1],
        "batched_examples_per_s": args.prompts / timings[args.batch_size],
        "batch_size": args.batch_size,
        "speedup": timings[1] / timings[args.batch_size],
        "outputs_identical": identical,
    }
    print(
        f"one at a time: {result['one_at_a_time_examples_per_s']:.2f} examples/s; batch {args.batch_size}: "
        f"{result['batched_examples_per_s']:.2f} examples/s; speedup {result['speedup']:.1f}x; "
        f"outputs identical: {identical}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
