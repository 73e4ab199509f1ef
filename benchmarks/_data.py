"""Deterministic synthetic tool-calling conversations for the benchmarks (no downloads)."""

from __future__ import annotations

import random

from slmswap.schema import Conversation, Message, Tool, ToolCall

CITIES = ["Paris", "Rome", "Lisbon", "Osaka", "Lima", "Cairo", "Oslo", "Quito", "Hanoi", "Perth"]
TOOLS = [
    Tool(
        name="get_weather",
        description="Current weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    ),
    Tool(
        name="convert_currency",
        description="Convert an amount between currencies.",
        parameters={
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    ),
    Tool(
        name="book_table",
        description="Book a restaurant table.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}, "people": {"type": "integer"}, "time": {"type": "string"}},
            "required": ["city", "people"],
        },
    ),
]


def _round(rng: random.Random) -> list[Message]:
    city = rng.choice(CITIES)
    kind = rng.randrange(3)
    if kind == 0:
        call = ToolCall(name="get_weather", arguments={"city": city, "unit": rng.choice(["c", "f"])})
        question, answer = f"What's the weather like in {city}?", f"It is {rng.randint(-5, 35)} degrees in {city}."
    elif kind == 1:
        amount = rng.randint(1, 900)
        call = ToolCall(
            name="convert_currency", arguments={"amount": amount, "from_currency": "EUR", "to_currency": "USD"}
        )
        question, answer = f"How much is {amount} EUR in USD?", f"{amount} EUR is about {amount * 1.08:.2f} USD."
    else:
        people = rng.randint(1, 8)
        call = ToolCall(name="book_table", arguments={"city": city, "people": people, "time": "19:30"})
        question, answer = f"Book a table for {people} in {city} at 7:30pm.", "Your table is booked."
    return [
        Message.user(question),
        Message.assistant(tool_calls=[call]),
        Message.tool('{"ok": true, "value": ' + str(rng.randint(1, 99)) + "}", name=call.name),
        Message.assistant(answer),
    ]


def tool_conversations(count: int, seed: int = 0) -> list[Conversation]:
    """``count`` multi-turn conversations of one to three tool-call rounds each."""
    rng = random.Random(seed)
    conversations = []
    for _ in range(count):
        messages = [Message.system("You are a helpful assistant.")]
        for _ in range(rng.randint(1, 3)):
            messages += _round(rng)
        conversations.append(Conversation(messages=tuple(messages), tools=tuple(TOOLS)))
    return conversations
