"""JSON Schema validation that stays offline and bounded, for schemas that come with untrusted data.

A tool's parameter schema (or a structured answer's) is data: a ``$ref`` in it is never fetched, over the
network or from the file system (it resolves inside the schema or fails as a validation error), and every
regex it holds (``pattern``, ``patternProperties``, and those ``additionalProperties`` consults) is matched
with a time limit, so a pattern written for catastrophic backtracking cannot hang an evaluation.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import regex
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.validators import extend, validator_for
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

__all__ = ["PATTERN_SECONDS", "first_error"]

PATTERN_SECONDS = 0.25
"""The longest one ``pattern`` may take to match one value; longer counts as a validation error."""


def _no_retrieval(uri: str) -> Any:
    raise NoSuchResource(uri)


_OFFLINE = Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]


class _SlowPatternError(Exception):
    """A pattern ran out of its time."""


def _search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` within :data:`PATTERN_SECONDS`; raises
    :class:`_SlowPatternError` when it takes longer."""
    try:
        return regex.search(pattern, text, timeout=PATTERN_SECONDS) is not None
    except TimeoutError:
        raise _SlowPatternError(pattern) from None


def _slow(pattern: str) -> jsonschema_exceptions.ValidationError:
    return jsonschema_exceptions.ValidationError(
        f"the pattern {pattern!r:.60} took more than {PATTERN_SECONDS} s to match (refused)"
    )


def _bounded_pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "string") or not isinstance(pattern, str):
        return
    try:
        found = _search(pattern, instance)
    except _SlowPatternError:
        yield _slow(pattern)
        return
    except regex.error as exc:
        yield jsonschema_exceptions.ValidationError(f"the pattern {pattern!r:.60} is not a valid regex: {exc}")
        return
    if not found:
        yield jsonschema_exceptions.ValidationError(f"{instance!r:.80} does not match {pattern!r:.60}")


def _bounded_pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object") or not isinstance(patterns, dict):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            try:
                matched = _search(pattern, key)
            except (_SlowPatternError, regex.error):
                yield _slow(pattern)
                return
            if matched:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _bounded_additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = []
    for key in instance:
        if key in properties:
            continue
        try:
            if any(_search(pattern, key) for pattern in patterns):
                continue
        except (_SlowPatternError, regex.error):
            yield jsonschema_exceptions.ValidationError("a patternProperties pattern took too long to match (refused)")
            return
        extras.append(key)
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        listed = ", ".join(repr(key) for key in sorted(extras))
        yield jsonschema_exceptions.ValidationError(f"Additional properties are not allowed ({listed} unexpected)")


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    base = validator_for(schema)
    bounded = extend(
        base,
        {
            "pattern": _bounded_pattern,
            "patternProperties": _bounded_pattern_properties,
            "additionalProperties": _bounded_additional_properties,
        },
    )  # type: ignore[no-untyped-call]
    return bounded(schema, registry=_OFFLINE)


def first_error(schema: dict[str, Any], instance: Any) -> str | None:
    """Where and how ``instance`` breaks ``schema`` (``"path: message"``), or ``None`` when it satisfies it.

    An unresolvable ``$ref`` (one that would need a fetch) is reported as an error, never fetched.
    """
    validator = _validator(json.dumps(schema, sort_keys=True))
    try:
        error = next(iter(validator.iter_errors(instance)), None)
    except Unresolvable as exc:
        return f"<schema>: the $ref {getattr(exc, 'ref', '?')!r} cannot be resolved inside the schema (never fetched)"
    except RecursionError:
        return "<schema>: the schema refers to itself without end"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "<root>"
    return f"{where}: {error.message}"
