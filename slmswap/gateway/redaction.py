"""Redaction of what the gateway stores: built-in patterns (e-mail addresses, phone numbers, payment cards, API
keys) and the user's own regular expressions, applied to message text and argument strings before a row is
written. What is forwarded to the upstream is never touched.

Each match is replaced by ``[redacted:RULE]``; the redactor counts how often each rule fired, and the row keeps
the counts. Literal secrets (the upstream key, the client's key) are always replaced, under the rule ``secret``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slmswap.errors import ConfigError

__all__ = ["BUILTIN_RULES", "RedactionRule", "Redactor", "parse_rules"]


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and _luhn(digits)


@dataclass(frozen=True)
class RedactionRule:
    """A named pattern; ``accept`` vetoes a match that only looks like one (a card number failing Luhn's check)."""

    name: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None


BUILTIN_RULES: Mapping[str, RedactionRule] = {
    rule.name: rule
    for rule in (
        # Keys first: their digits must not be taken for a phone or a card number.
        RedactionRule(
            "key",
            re.compile(
                r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic, Stripe style
                r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key id
                r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
                r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack tokens
                r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API keys
                r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JSON web tokens
                r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/-]{16,}=*"
            ),
        ),
        RedactionRule("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
        RedactionRule("card", re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"), _is_card),
        RedactionRule(
            "phone",
            re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,3}(?![\w-])"),
            lambda match: 9 <= len(re.sub(r"\D", "", match.group(0))) <= 15,
        ),
    )
}
"""The built-in rules, by name, in the order they are applied."""

_SKIPPED_KEYS = frozenset({"role", "type", "id", "tool_call_id"})  # protocol fields, never user text


def parse_rules(names: Iterable[str], patterns: Iterable[str] = ()) -> list[RedactionRule]:
    """The rules named (``email``, ``phone``, ``card``, ``key``) plus the user's own, each ``NAME=REGEX`` or a
    bare ``REGEX`` (named ``custom``, ``custom2``, ...); a :class:`~slmswap.errors.ConfigError` for an unknown
    name or a pattern that does not compile."""
    rules = []
    for name in names:
        if name not in BUILTIN_RULES:
            raise ConfigError(f"unknown redaction rule {name!r} (the built-in rules: {', '.join(BUILTIN_RULES)})")
        rules.append(BUILTIN_RULES[name])
    rules.sort(key=lambda rule: list(BUILTIN_RULES).index(rule.name))
    for number, text in enumerate(patterns, start=1):
        name, sep, regex = text.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*", name):
            name, regex = ("custom" if number == 1 else f"custom{number}"), text
        try:
            rules.append(RedactionRule(name, re.compile(regex)))
        except re.error as exc:
            raise ConfigError(f"--redact-regex {text!r} does not compile: {exc}") from None
    return rules


@dataclass
class Redactor:
    """Applies rules, and literal secrets, to the strings of one exchange, counting what fired."""

    rules: Sequence[RedactionRule]
    secrets: Sequence[str] = ()
    counts: Counter[str] = field(default_factory=Counter)

    def text(self, value: str) -> str:
        """``value`` with every secret and every match replaced."""
        for secret in self.secrets:
            if secret and secret in value:
                self.counts["secret"] += value.count(secret)
                value = value.replace(secret, "[redacted]")
        for rule in self.rules:
            value = rule.pattern.sub(lambda match, rule=rule: self._replace(rule, match), value)  # type: ignore[misc]
        return value

    def _replace(self, rule: RedactionRule, match: re.Match[str]) -> str:
        if rule.accept is not None and not rule.accept(match):
            return match.group(0)
        self.counts[rule.name] += 1
        return f"[redacted:{rule.name}]"

    def value(self, value: Any, key: str | None = None) -> Any:
        """A JSON value with its strings redacted; an ``arguments`` string holding JSON is redacted inside and
        written back as JSON, so it stays parseable."""
        if isinstance(value, str):
            if key in _SKIPPED_KEYS:
                return value
            if key == "arguments":
                try:
                    parsed = json.loads(value)
                except ValueError:
                    return self.text(value)
                before = sum(self.counts.values())
                redacted = self.value(parsed)
                return json.dumps(redacted, ensure_ascii=False) if sum(self.counts.values()) > before else value
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        return value
