"""The redaction rules on their own: what each built-in pattern takes, what it leaves, and the counts."""

from __future__ import annotations

import json

import pytest

from slmswap.errors import ConfigError
from slmswap.gateway import BUILTIN_RULES, Redactor, parse_rules


def _redact(text: str, *names: str) -> tuple[str, dict[str, int]]:
    redactor = Redactor(parse_rules(names or tuple(BUILTIN_RULES)))
    return redactor.text(text), dict(redactor.counts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+x@mail.example.co.uk today", "write to [redacted:email] today"),
        ("card 4111 1111 1111 1111 ok", "card [redacted:card] ok"),
        ("card 4111-1111-1111-1112 fails Luhn", "card 4111-1111-1111-1112 fails Luhn"),
        ("call +1 (415) 555-2671 now", "call [redacted:phone] now"),
        ("call 020 7946 0958", "call [redacted:phone]"),
        ("key sk-proj-AbCdEfGhIjKlMnOpQrSt and AKIAIOSFODNN7EXAMPLE", "key [redacted:key] and [redacted:key]"),
        ("token ghp_0123456789abcdefghijklmnopqrstuvwxyz", "token [redacted:key]"),
        ("Authorization: Bearer abcdefghijklmnop0123", "Authorization: [redacted:key]"),
        ("order 12345, year 2026, 3.14159, version 1.2.3", "order 12345, year 2026, 3.14159, version 1.2.3"),
    ],
)
def test_builtin_rules(text: str, expected: str) -> None:
    assert _redact(text)[0] == expected


def test_each_rule_counts_what_it_replaced() -> None:
    text, counts = _redact("a@b.io, c@d.io, sk-abcdefghijklmnopqrstu", "email", "key")
    assert text == "[redacted:email], [redacted:email], [redacted:key]"
    assert counts == {"email": 2, "key": 1}


def test_only_the_named_rules_apply() -> None:
    assert _redact("a@b.io +1 415 555 2671", "email")[0] == "[redacted:email] +1 415 555 2671"


def test_user_patterns_and_secrets() -> None:
    redactor = Redactor(parse_rules((), ["ticket=T-\\d{4}", "\\bACME\\b"]), secrets=["s3cr3t-value"])
    assert redactor.text("T-1234 for ACME: s3cr3t-value") == "[redacted:ticket] for [redacted:custom2]: [redacted]"
    assert redactor.counts == {"ticket": 1, "custom2": 1, "secret": 1}


def test_arguments_stay_valid_json_and_protocol_fields_are_kept() -> None:
    redactor = Redactor(parse_rules(["email"]))
    message = {
        "role": "assistant",
        "tool_calls": [
            {"id": "a@b.io", "type": "function", "function": {"name": "f", "arguments": '{"to": "a@b.io"}'}}
        ],
    }
    redacted = redactor.value(message)
    assert redacted["tool_calls"][0]["id"] == "a@b.io"
    assert json.loads(redacted["tool_calls"][0]["function"]["arguments"]) == {"to": "[redacted:email]"}
    untouched = '{"to":   "nobody"}'
    assert redactor.value({"arguments": untouched}) == {"arguments": untouched}  # unchanged text stays as written


@pytest.mark.parametrize(("names", "patterns"), [(["emails"], []), ([], ["bad=("])])
def test_unknown_rules_and_bad_patterns_are_config_errors(names: list[str], patterns: list[str]) -> None:
    with pytest.raises(ConfigError):
        parse_rules(names, patterns)
