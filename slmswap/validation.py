"""JSON Schema validation that stays offline and bounded, for schemas that come with untrusted data.

A tool's parameter schema (or a structured answer's) is data: a ``$ref`` in it is never fetched, over the
network or from the file system (it resolves inside the schema or fails as a validation error), and a
``pattern`` is matched with a time limit, so a pattern written for catastrophic backtracking cannot hang an
evaluation.
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


def _bounded_pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "string") or not isinstance(pattern, str):
        return
    try:
        found = regex.search(pattern, instance, timeout=PATTERN_SECONDS)
    except TimeoutError:
        yield jsonschema_exceptions.ValidationError(
            f"the pattern {pattern!r:.60} took more than {PATTERN_SECONDS} s to match (refused)"
        )
        return
    except regex.error as exc:
        yield jsonschema_exceptions.ValidationError(f"the pattern {pattern!r:.60} is not a valid regex: {exc}")
        return
    if found is None:
        yield jsonschema_exceptions.ValidationError(f"{instance!r:.80} does not match {pattern!r:.60}")


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    base = validator_for(schema)
    bounded = extend(base, {"pattern": _bounded_pattern})  # type: ignore[no-untyped-call]
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
