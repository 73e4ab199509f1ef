"""Smoke job on the embedded default model.

Loads it, renders a tool-call conversation through its own chat template, and generates a reply.

Run it with ``python examples/smoke.py`` (or ``bash examples/demo.sh`` on a fresh machine, which installs first).
"""

from __future__ import annotations

import time

import torch

import slmswap


def main() -> None:
    started = time.perf_counter()
    tokenizer = slmswap.load_tokenizer()
    model = slmswap.load_model()
    print(f"loaded {slmswap.DEFAULT_MODEL} in {time.perf_counter() - started:.1f}s")

    conversation = slmswap.Conversation(
        messages=[
            slmswap.Message.system("You are a helpful assistant."),
            slmswap.Message.user("What is the weather in Paris today?"),
        ],
        tools=[
            slmswap.Tool(
                name="get_weather",
                description="Current weather for a city.",
                parameters={
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            )
        ],
    )
    messages = [message.model_dump(exclude_none=True, exclude_defaults=True) for message in conversation.messages]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    print("--- prompt rendered by the model's own chat template ---")
    print(prompt)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=40, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    print("--- base model reply ---")
    print(reply)
    print(f"done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
