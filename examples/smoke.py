"""Smoke job on the embedded default model (the main job until ``slmswap demo`` exists).

Loads SmolLM2-135M-Instruct, lints its chat template with the Hermes format, renders a tool-calling
conversation through the model's own template, shows which tokens a training example would train, generates
a reply and parses it back. Run with ``python examples/smoke.py`` (``bash examples/demo.sh`` installs first).
"""

from __future__ import annotations

import time

import torch

import slmswap
from slmswap.formats import get_format
from slmswap.templates import lint_template, mask_terminal, tokenize_conversation


def main() -> None:
    started = time.perf_counter()
    tokenizer = slmswap.load_tokenizer()
    model = slmswap.load_model().eval()
    print(f"loaded {slmswap.DEFAULT_MODEL} in {time.perf_counter() - started:.1f}s")

    fmt = get_format("hermes")
    findings = lint_template(tokenizer, fmt)
    print(f"template lint: {len(findings)} finding(s)" + "".join(f"\n  {f}" for f in findings))

    weather = slmswap.Tool(
        name="get_weather",
        description="Current weather for a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    question = slmswap.Message.user("What is the weather in Paris today?")
    answer = slmswap.Message.assistant(tool_calls=[slmswap.ToolCall(name="get_weather", arguments={"city": "Paris"})])
    example = slmswap.Conversation(messages=(question, answer), tools=(weather,))
    print("--- a training example; ⟦trained⟧ tokens, · marks token boundaries ---")
    print(mask_terminal(tokenize_conversation(tokenizer, fmt, example), color=False))

    prompt = fmt.render(
        tokenizer, slmswap.Conversation(messages=(question,), tools=(weather,)), add_generation_prompt=True
    )
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=48, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    print("--- base model reply (before any fine-tuning) ---")
    print(reply)
    parsed = fmt.parse(reply, tools=[weather])
    verdict = "a valid call" if parsed.ok else f"not a valid call ({parsed.failure.value if parsed.failure else ''})"
    print(f"parsed under the hermes format: {verdict}")
    print(f"done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
