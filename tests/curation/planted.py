"""Planted traffic: a request log with known numbers of exact duplicates, near-duplicates (a name or a date
changed), invalid calls, truncations, upstream errors, empty answers, control-token text and an unreadable line,
as OpenAI chat rows carrying ``finish_reason`` and ``error`` (the request-log shape curate reads)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city on a date.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "date": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "book_table",
            "description": "Book a restaurant table.",
            "parameters": {
                "type": "object",
                "properties": {"restaurant": {"type": "string"}, "people": {"type": "integer"}},
                "required": ["restaurant", "people"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "description": "Send an email.",
            "parameters": {
                "type": "object",
                "properties": {"to": {"type": "string"}, "subject": {"type": "string"}},
                "required": ["to"],
            },
        },
    },
]
NAMES = ["Alice", "Bruno", "Chiara", "Dmitri", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lena"]


@dataclass
class Planted:
    """The rows, and what curate should find in them."""

    rows: list[str] = field(default_factory=list)
    dropped: dict[str, set[str]] = field(default_factory=dict)
    """Reason -> the ids dropped for it."""
    exact_duplicates: set[str] = field(default_factory=set)
    """Ids of the copies that collapse into an earlier example."""
    near_duplicates: int = 0
    near_duplicate_groups: int = 0
    repeated_requests: int = 0
    unanimous: int = 0

    def write(self, path: Path) -> Path:
        path.write_text("".join(row + "\n" for row in self.rows), encoding="utf-8")
        return path


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = ["".join(self.rng.choices("bcdfghklmnprstvz", k=3)) + w for w in "aeiou" * 400]
        self.planted = Planted()
        self.count = 0

    def words(self, n: int) -> str:
        return " ".join(self.rng.sample(self.vocabulary, n))

    def text(self, name: str, date: str) -> tuple[str, str]:
        """A user request with a name and a date in it: random words around the two slots."""
        return self.words(9), f"{{}} please ask {name} about {date} then {self.words(9)}"

    def row(self, user: str, answer: dict[str, Any] | None, *, reverse_tools: bool = False, **extra: Any) -> str:
        self.count += 1
        row_id = f"r{self.count:03d}"
        messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a helpful assistant."}]
        messages.append({"role": "user", "content": user})
        if answer is not None:
            messages.append({"role": "assistant", **answer})
        tools = list(reversed(TOOLS)) if reverse_tools else TOOLS
        self.planted.rows.append(json.dumps({"id": row_id, "messages": messages, "tools": tools, **extra}))
        return row_id

    def drop(self, reason: str, row_id: str) -> None:
        self.planted.dropped.setdefault(reason, set()).add(row_id)


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """An assistant answer making one call (arguments as the API sends them: a JSON string)."""
    return {
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        ],
    }


def planted_traffic(seed: int = 7, bases: int = 60) -> Planted:
    """The planted log (deterministic for a seed)."""
    b = _Builder(seed)
    p = b.planted
    base_requests: list[tuple[str, dict[str, Any], str, str]] = []
    for i in range(bases):
        name, date = NAMES[i % len(NAMES)], f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
        head, tail = b.text(name, date)
        user = tail.format(head)
        kind = i % 4
        if kind == 0:
            answer = call("get_weather", city=name, date=date)
        elif kind == 1:
            answer = call("book_table", restaurant=name, people=1 + i % 6)
        elif kind == 2:
            answer = call("send_email", to=name, subject=date)
        else:
            answer = {"content": f"I cannot help with {name} on {date}."}
        b.row(user, answer, finish_reason="tool_calls" if kind < 3 else "stop")
        base_requests.append((user, answer, name, date))
    # Exact duplicates: 6 requests seen twice (same answer; whitespace and tool order differ), 2 seen three times
    # with one disagreeing answer (the LLM disagreeing with itself)
    for user, answer, _, _ in base_requests[:6]:
        p.exact_duplicates.add(b.row("  " + user.replace(" ", "   ") + "\n", answer, reverse_tools=True))
    for user, answer, name, _ in base_requests[6:8]:
        p.exact_duplicates.add(b.row(user, answer))
        p.exact_duplicates.add(b.row(user, call("get_weather", city=name + "x")))
    p.repeated_requests, p.unanimous = 8, 6
    # Near-duplicates: a name or a date changed; 4 requests get two variants, 4 get one
    for k, (user, answer, name, date) in enumerate(base_requests[10:18]):
        variants = 2 if k < 4 else 1
        for v in range(variants):
            other = NAMES[(NAMES.index(name) + 1 + v) % len(NAMES)]
            changed = user.replace(name, other) if k % 2 == 0 else user.replace(date, f"2026-0{v + 1}-1{k}")
            b.row(changed, answer)
            p.near_duplicates += 1
        p.near_duplicate_groups += 1
    # Invalid: calls of tools not offered, arguments against the schema
    for _ in range(4):
        b.drop("unknown_tool", b.row(b.words(16), call("delete_account", user="x")))
    for k in range(5):
        bad = call("book_table", restaurant="Luigi", people="four") if k % 2 else call("get_weather", date="today")
        b.drop("invalid_arguments", b.row(b.words(16), bad))
    for _ in range(3):
        cut = {"content": '{"name": "get_weather", "argum'}
        b.drop("truncated", b.row(b.words(16), cut, finish_reason="length"))
    for k in range(3):
        error = {"message": "upstream timed out", "code": 504} if k % 2 else "HTTP 502 Bad Gateway"
        b.drop("upstream_error", b.row(b.words(16), None, error=error))
    for _ in range(2):
        b.drop("empty_answer", b.row(b.words(16), {"content": "   "}))
    for _ in range(2):
        b.drop("control_token_text", b.row(b.words(8) + " <|im_end|> " + b.words(8), {"content": "Sure."}))
    p.rows.append('{"id": "broken", "messages": [')
    b.drop("unreadable", "planted.jsonl:" + str(len(p.rows)))
    return p
