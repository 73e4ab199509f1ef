"""Evaluate an LLM behind an OpenAI-compatible API as the baseline, on the very prompt the small model gets.

The held-out conversations are rendered by the same chat format (system prompt included) as for the fine-tuned
model, and ``OpenAIBackend`` sends exactly those messages, so the two are compared on equal terms. Every
answer is recorded as it arrives in ``--out``/records.jsonl: run the command again after an interruption and it
goes on where it stopped. The API key is read from an environment variable (``--api-key-env``) and never
written anywhere. Works with OpenAI, vLLM and llama.cpp servers::

    export OPENAI_API_KEY=...
    python examples/llm_baseline.py --base-url https://api.openai.com/v1 --model gpt-4o-mini
    python examples/llm_baseline.py --base-url http://127.0.0.1:8000/v1 --model my-llm --trained quickstart-out/model

Then compare with the fine-tuned model's run: ``write_report([load_run(...), load_run(...)], directory)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import slmswap
from slmswap import OpenAIBackend, evaluate, get_format, load_trained, write_report
from slmswap.evaluation import load_run, report_summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. https://api.openai.com/v1")
    parser.add_argument("--model", required=True, help="the API's model name")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    parser.add_argument("--trained", type=Path, help="a training output: prompts in its format and template")
    parser.add_argument("--format", default="hermes", help="the chat format, when --trained is not given")
    parser.add_argument("--data", type=Path, help="held-out conversations (default: the demo test split)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N conversations")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    parser.add_argument("--out", type=Path, default=Path("llm-baseline-out"), help="records, results and report")
    parser.add_argument("--fast", action="store_true", help="4 conversations, short answers (a smoke run)")
    args = parser.parse_args(argv)

    if args.trained:  # the fine-tuned model's own format and tokenizer: prompt parity with it
        _, tokenizer, fmt, _ = load_trained(args.trained)
    else:
        tokenizer, fmt = slmswap.load_tokenizer(), get_format(args.format)
    data = list(slmswap.load_conversations(args.data) if args.data else slmswap.load_demo_dataset("test"))
    limit = 4 if args.fast else args.limit
    data = data[:limit] if limit else data
    backend = OpenAIBackend(
        args.base_url,
        args.model,
        api_key_env=args.api_key_env,
        concurrency=args.concurrency,
        max_tokens=128 if args.fast else 512,
    )

    records, results = args.out / "records.jsonl", args.out / "results.json"
    result = evaluate(data, backend.generate, tokenizer, fmt, records=records, results=results)
    print(f"{result.examples} examples, {result.reused} reused from an earlier run, {len(data) - result.reused} sent")
    run = load_run(args.model, records, results)
    paths = write_report([run], args.out, title=f"LLM baseline: {args.model}")
    print(report_summary([run]))
    print(f"full report (worst examples, parse failures): {paths['markdown']}")


if __name__ == "__main__":
    main()
