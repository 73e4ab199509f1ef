"""Generated single-call tool conversations for the training tests (deterministic, no downloads)."""

from __future__ import annotations

import random

from slmswap.schema import Conversation, Message, Tool, ToolCall

CITIES = ["Paris", "Rome", "Lisbon", "Osaka", "Lima", "Cairo", "Oslo", "Quito", "Hanoi", "Perth", "Dakar", "Riga"]
TOOLS = (
    Tool(
        name="get_weather",
        description="Current weather for a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
    Tool(
        name="get_time",
        description="Local time in a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
)
QUESTIONS = {
    "get_weather": ["What's the weather in {c}?", "Is it raining in {c}?", "Weather for {c} please."],
    "get_time": ["What time is it in {c}?", "Current time in {c}?", "Tell me the local time in {c}."],
}


def tool_conversations(count: int, seed: int) -> list[Conversation]:
    rng = random.Random(seed)
    out = []
    for k in range(count):
        name = rng.choice(sorted(QUESTIONS))
        city = rng.choice(CITIES)
        question = rng.choice(QUESTIONS[name]).format(c=city)
        call = ToolCall(name=name, arguments={"city": city})
        out.append(
            Conversation(
                messages=(Message.user(question), Message.assistant(tool_calls=[call])), tools=TOOLS, id=f"s{seed}-{k}"
            )
        )
    return out
