"""How BFCL reads the string-typed argument values of its Java and JavaScript categories.

For these categories BFCL offers every parameter as a string holding source text (``"new ArrayList<>(...)"``,
``"true"``, ``"5L"``, ``"[1, 2]"``), and its AST checker converts that text to a value before comparing it with
the possible answers. These converters follow ``bfcl_eval``'s own ``java_type_converter`` and
``js_type_converter`` rule for rule, their quirks included (text that does not parse stays the string it was; a
Java ``char`` is never unquoted; the elements of a Java ``String[]`` keep their quotes), so that the verdicts
are the leaderboard's.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["JAVASCRIPT_TYPES", "JAVA_TYPES", "UnsupportedTypeError", "java_value", "javascript_value"]

JAVA_TYPES: dict[str, type] = {
    "byte": int,
    "short": int,
    "integer": int,
    "float": float,
    "double": float,
    "long": int,
    "boolean": bool,
    "char": str,
    "Array": list,
    "ArrayList": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
    "Queue": list,
    "Stack": list,
    "String": str,
    "any": str,
}
"""The Python type each Java type name converts to (BFCL's ``JAVA_TYPE_CONVERSION``)."""

JAVASCRIPT_TYPES: dict[str, type] = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}
"""The Python type each JavaScript type name converts to (BFCL's ``JS_TYPE_CONVERSION``)."""

_JAVA_FLOAT = r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$"
_JAVA_DOUBLE = r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$"
_JAVA_LONG = r"^-?\d+[lL]$"
_INTEGER = r"^-?\d+$"


class UnsupportedTypeError(ValueError):
    """A type BFCL's converters do not handle (its own checker raises on these too)."""


def java_value(value: str, expected: str, nested: str | None = None) -> Any:
    """The value BFCL reads from the Java source text ``value`` of a parameter of type ``expected``."""
    if expected not in JAVA_TYPES:
        raise UnsupportedTypeError(f"unsupported Java type {expected!r}")
    if expected in ("byte", "short", "integer"):
        return int(value) if re.match(_INTEGER, value) else value
    if expected == "float":
        return float(re.sub(r"[fF]$", "", value)) if re.match(_JAVA_FLOAT, value) else value
    if expected == "double":
        return float(value) if re.match(_JAVA_DOUBLE, value) else value
    if expected == "long":
        return int(re.sub(r"[lL]$", "", value)) if re.match(_JAVA_LONG, value) else value
    if expected == "boolean":
        return value == "true" if value in ("true", "false") else value
    if expected == "ArrayList":
        return _java_arraylist(value, nested)
    if expected == "Array":
        return _java_array(value, nested)
    if expected == "HashMap":
        return _java_hashmap(value)
    if expected in ("char", "String", "any"):
        return value  # BFCL's char pattern never matches, so a char keeps its quotes
    raise UnsupportedTypeError(f"BFCL does not convert Java {expected} values")


def _java_element(text: str, nested: str | None) -> Any:
    if nested in ("char", "String"):
        return text[1:-1]
    return java_value(text, nested) if nested else _java_literal(text)


def _java_arraylist(text: str, nested: str | None) -> Any:
    as_list = re.search(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)", text)
    if as_list:
        return [_java_element(element.strip(), nested) for element in as_list.group(1).split(",")]
    adds = re.search(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", text, re.DOTALL)
    if adds:
        return [_java_element(found.strip(), nested) for found in re.findall(r"add\((.+?)\)", adds.group(1))]
    if re.search(r"new\s+ArrayList<\w*>\(\)", text):
        return []
    return text


def _java_array(text: str, nested: str | None) -> Any:
    match = re.search(r"new\s+\w+\[\]\s*\{(.*?)\}", text)
    if not match:
        return text
    parts = [part.strip() for part in match.group(1).split(",") if part.strip()]
    # Unlike the ArrayList reader, BFCL's array reader converts String and char elements as they are, quotes kept.
    return [java_value(part, nested) if nested else _java_literal(part) for part in parts]


def _java_hashmap(text: str) -> Any:
    match = re.search(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", text, re.DOTALL)
    if match:
        puts = match.group(1)
        if not puts.strip():
            return {}
        return {key: _java_literal(raw.strip()) for key, raw in re.findall(r"put\(\"(.*?)\",\s*(.*?)\)", puts)}
    if re.search(r"new\s+HashMap<.*?>\s*\(\)", text):
        return {}
    return text


def _java_literal(text: str) -> Any:
    """A Java literal read without knowing its type (BFCL's ``parse_java_value``)."""
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if re.match(_JAVA_LONG, text):
        return int(text[:-1])
    if re.match(_JAVA_FLOAT, text):
        return float(re.sub(r"[fF]$", "", text))
    return _number_or_text(text)


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def javascript_value(value: str, expected: str, nested: str | None = None) -> Any:
    """The value BFCL reads from the JavaScript source text ``value`` of a parameter of type ``expected``."""
    if expected not in JAVASCRIPT_TYPES:
        raise UnsupportedTypeError(f"unsupported JavaScript type {expected!r}")
    if expected == "String":
        quoted = (value.startswith('"') and value.endswith('"')) or (value.startswith("'") and value.endswith("'"))
        return value[1:-1] if quoted else value
    if expected == "integer":
        return int(value) if re.match(_INTEGER, value) else value
    if expected == "float":
        return float(value) if re.match(r"^-?\d+(\.\d+)?$", value) else value
    if expected == "Bigint":
        return int(value[:-1]) if re.match(r"^-?\d+n$", value) else value
    if expected == "Boolean":
        return value == "true" if value in ("true", "false") else value
    if expected == "dict":
        return _javascript_object(value.strip())
    if expected == "array":
        return _javascript_array(value.strip(), nested)
    return value  # any


_ARRAY_2D = r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"
_ARRAY = r"\[(.*?)\]|\bnew\s+Array\((.*?)\)"


def _javascript_array(code: str, nested: str | None) -> Any:
    try:
        nested_match = re.match(_ARRAY_2D, code)
        if nested_match:
            rows = []
            for k, inner in enumerate(re.findall(r"\[(.*?)\]", nested_match.group(0))):
                inner = inner.strip()
                if k == 0 and inner.startswith("["):
                    inner = inner[1:]
                rows.append([_javascript_literal(element.strip()) for element in inner.split(",")])
            return rows
        match = re.match(_ARRAY, code)
        if not match:
            return code
        body = match.group(1) if match.group(1) is not None else match.group(2)
        elements = body.strip().split(",") if body is not None and body.strip() else []
        if not nested:
            return [_javascript_literal(element.strip()) for element in elements]
        converted = []
        for element in elements:
            element = element.strip()
            # BFCL passes "String" as the nested type of a quoted element, which only the array branch reads
            quoted = element.startswith(("'", '"'))
            converted.append(javascript_value(element, nested, "String" if quoted else None))
        return converted
    except Exception:  # BFCL keeps the text when anything in its array reader fails
        return code


def _javascript_object(code: str) -> Any:
    if code == "{}":
        return {}
    match = re.match(r"\{(.*?)\}", code)
    if not match:
        return code
    try:
        result: dict[str, Any] = {}
        for key, raw in re.findall(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)", match.group(1)):
            key, raw = key.strip().strip("'\""), raw.strip()
            if raw.startswith("[") and raw.endswith("]"):
                result[key] = _javascript_array(raw, None)
            elif raw.startswith("{") and raw.endswith("}"):
                result[key] = _javascript_object(raw)
            else:
                result[key] = _javascript_literal(raw.strip("'\""))
        return result
    except Exception:  # BFCL keeps the text when its object reader fails
        return code


def _javascript_literal(text: str) -> Any:
    """A JavaScript literal read without knowing its type (BFCL's ``parse_js_value``)."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'")):
        return text[1:-1]
    return _number_or_text(text)
