"""Fine-tune on ShareGPT tool-calling data in the Hermes format: inspect the mask, train, save, load back.

Reads ShareGPT rows as LLaMA-Factory writes them (``function_call`` and ``observation`` turns, the tools as a
JSON string; see ``examples/data/sharegpt_tools.jsonl``) with ``load_sharegpt``, shows which tokens of one
conversation are trained (both assistant turns, the call and the answer after the tool result; never the
prompt or the tool result), LoRA fine-tunes the default model in the Hermes format, then loads the saved output
with ``load_trained`` (which restores the trained format from ``slmswap.json``) and asks it a new question::

    python examples/sharegpt_hermes.py            # 16 steps: a few minutes on a CPU
    python examples/sharegpt_hermes.py --fast     # 2 steps: a smoke run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slmswap import Conversation, Message, load_sharegpt
from slmswap.evaluation import TransformersBackend
from slmswap.templates import mask_terminal, tokenize_conversation
from slmswap.train import TrainConfig, Trainer, load_trained

DATA = Path(__file__).parent / "data" / "sharegpt_tools.jsonl"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="train 2 steps only (a smoke run)")
    parser.add_argument("--data", type=Path, default=DATA, help="ShareGPT rows (JSON or JSONL)")
    parser.add_argument("--out", type=Path, default=Path("sharegpt-hermes-out"), help="output directory")
    parser.add_argument("--question", default="What's the weather in Rome?", help="asked of the trained model")
    args = parser.parse_args(argv)

    conversations = load_sharegpt(args.data)
    print(conversations.report())
    config = TrainConfig(
        output_dir=args.out, max_steps=2 if args.fast else 16, batch_size=4, learning_rate=1e-3, logging_steps=2
    )
    trainer = Trainer(list(conversations), format="hermes", config=config)
    print(trainer.prepared.stats.summary())
    example = tokenize_conversation(trainer.tokenizer, trainer.format, conversations[0])
    print(mask_terminal(example, color=sys.stdout.isatty()))

    trainer.train()  # writes the adapter, the tokenizer and slmswap.json to --out
    model, tokenizer, fmt, manifest = load_trained(args.out)
    print(f"loaded {args.out}: format {manifest.format!r} v{manifest.format_version}, base {manifest.base_model}")

    question = Conversation(messages=(Message.user(args.question),), tools=conversations[0].tools)
    prompt = fmt.render(tokenizer, question, add_generation_prompt=True)
    answer = TransformersBackend(model, tokenizer, max_new_tokens=48).generate([prompt])[0].text
    parsed = fmt.parse(answer, tools=question.tools)
    print(f"question: {args.question}\nanswer: {answer!r}")
    print(f"parsed: {parsed.turn!r}" if parsed.ok else f"not a valid answer: {parsed.failure} {parsed.detail}")


if __name__ == "__main__":
    main()
