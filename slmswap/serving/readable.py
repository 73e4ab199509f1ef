"""A ``response_template`` that cannot fail: every generation reads back, as ``tool_calls`` when its calls are
well-formed, and as ``content`` (the text as the model wrote it) when they are not.

transformers' declarative parser (``transformers serve``, and the vLLM plugin export writes) opens a tool-call
region at its open tag and runs ``json.loads`` on the body when the region closes; a body that is not JSON
(a missing brace, a call cut off at ``max_tokens``) raises ``ValueError`` and the server answers 500. The
template has no "keep the text" switch for a region, so the guard lives in the patterns themselves:

- a JSON region's open pattern carries a lookahead: it opens only when the whole rest of the generation is
  well-formed calls (a body of the shape its ``transform`` reads, then the close tag), one after the other, up
  to the end of the turn. Otherwise the open tag never matches and the text stays content: a turn's calls
  come back all of them or none, as vLLM's own parsers return them;
- its close pattern matches only outside JSON strings, so an argument holding ``</tool_call>`` survives;
- a region whose parser cannot fail (``xml-inline``) opens only when its calls are whole, all the way to the
  end of the turn, likewise;
- the tool's name (a JSON string in the body, or a ``name`` group of the open tag) is a named definition,
  which :func:`offered_tools_template` narrows to the tools a request offers: a call to any other name is
  then text too.

The lookahead's JSON grammar (RFC 8259, in the ``regex`` module's recursive patterns) accepts a subset of what
``json.loads`` accepts, so a region that opens always parses.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection, Sequence
from typing import Any

__all__ = [
    "casting_tools",
    "guarded_response_template",
    "narrowed_template",
    "offered_names",
    "offered_tools_template",
]

_STRING_BODY = r'(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})'
_CALL_NAME = f'(?<slmswap_name>"{_STRING_BODY}++")'
"""The definition of a call's name in the JSON body: any non-empty string, until narrowed."""
_TAG_NAME = "(?<slmswap_tag_name>"
"""The definition of a name the open tag captures: the tag's own pattern, until narrowed; always last."""
_JSON = (
    r"(?<slmswap_ws>[ \t\n\r]*+)"
    f'(?<slmswap_str>"{_STRING_BODY}*+")'
    r"(?<slmswap_num>-?+(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+)"
    r"(?<slmswap_val>(?&slmswap_str)|(?&slmswap_num)|(?&slmswap_obj)|(?&slmswap_arr)|true|false|null)"
    r"(?<slmswap_obj>\{(?&slmswap_ws)(?:(?&slmswap_str)(?&slmswap_ws):(?&slmswap_ws)(?&slmswap_val)(?&slmswap_ws)"
    r"(?:,(?&slmswap_ws)(?&slmswap_str)(?&slmswap_ws):(?&slmswap_ws)(?&slmswap_val)(?&slmswap_ws))*+)?+\})"
    r"(?<slmswap_arr>\[(?&slmswap_ws)(?:(?&slmswap_val)(?&slmswap_ws)"
    r"(?:,(?&slmswap_ws)(?&slmswap_val)(?&slmswap_ws))*+)?+\])"
)
_WS, _OBJECT, _VALUE = "(?&slmswap_ws)", "(?&slmswap_obj)", "(?&slmswap_val)"
_MEMBER_NAME = f'"name"{_WS}:{_WS}(?&slmswap_name)'
_MEMBER_ARGUMENTS = f'"arguments"{_WS}:{_WS}{_OBJECT}'
_MEMBERS = f"(?:{_MEMBER_NAME}{_WS},{_WS}{_MEMBER_ARGUMENTS}|{_MEMBER_ARGUMENTS}{_WS},{_WS}{_MEMBER_NAME})"
_CALL = rf"\{{{_WS}{_MEMBERS}{_WS}\}}"
"""``{"name": "...", "arguments": {...}}``, in either order."""
_OUTSIDE_STRINGS = r'(?:"(?:[^"\\]|\\.)*"|[^"])*'
"""Text whose JSON strings are balanced: a position after it is not inside a string."""
_NAMED_GROUP = re.compile(r"\(\?P?<([A-Za-z_]\w*)>")


def _anchor(field: dict[str, Any], key: str) -> str | None:
    """A field's ``open``/``close`` anchor as one regex (its literals, or its ``*_pattern``)."""
    if f"{key}_pattern" in field:
        return f"(?:{field[f'{key}_pattern']})"
    literals = field.get(key)
    if literals is None:
        return None
    options = [literals] if isinstance(literals, str) else list(literals)
    return "(?:" + "|".join(re.escape(option) for option in sorted(options, key=len, reverse=True)) + ")"


def _unnamed(pattern: str) -> str:
    """``pattern`` with its named groups made plain (a repeat inside a lookahead must not rebind them)."""
    return _NAMED_GROUP.sub("(?:", pattern)


def _group_end(pattern: str, start: int) -> int:
    """The index just past the group that opens at ``pattern[start]`` (escapes and classes skipped)."""
    depth, k, in_class = 0, start, False
    while k < len(pattern):
        char = pattern[k]
        if char == "\\":
            k += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            k += 2 if pattern[k + 1 : k + 2] == "]" else 1  # "[]...]": the first "]" is a member
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    raise ValueError(f"unbalanced group in {pattern!r}")


def _with_named_tag(opening: str) -> tuple[str, str | None]:
    """``opening`` with the inside of its ``name`` group replaced by a call of ``slmswap_tag_name``, and that
    inside (``None`` when it has no ``name`` group)."""
    match = re.search(r"\(\?P?<name>", opening)
    if match is None:
        return opening, None
    end = _group_end(opening, match.start())
    inner = opening[match.end() : end - 1]
    return f"{opening[: match.end()]}(?&slmswap_tag_name)){opening[end:]}", inner


def _body_shape(field: dict[str, Any]) -> str:
    """The JSON a region's ``transform`` reads: a whole call, an arguments object, or any value."""
    function = (field.get("transform") or {}).get("function")
    if function == "{content}":
        return _CALL
    if isinstance(function, dict) and function.get("arguments") == "{content}":
        return _OBJECT
    return _VALUE


def _turn_end(template: dict[str, Any]) -> str:
    """Where a turn ends: the implicit (content) field's close, or the end of the text."""
    for field in template["fields"].values():
        if _anchor(field, "open") is None:
            close = _anchor(field, "close")
            return rf"(?:{close}|\s*\Z)" if close is not None else r"\s*\Z"
    return r"\s*\Z"


def guarded_response_template(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with each tool-call region guarded (see the module's docstring); other fields as they
    are."""
    guarded = copy.deepcopy(template)
    end = _turn_end(template)
    for name, field in template["fields"].items():
        opening, closing = _anchor(field, "open"), _anchor(field, "close")
        is_json = field.get("content") == "json"
        if opening is None or closing is None:
            continue
        plain = _unnamed(opening)
        opening, tag_name = _with_named_tag(opening)
        if not is_json and tag_name is None:
            continue
        tail = f"{_TAG_NAME}{tag_name}))" if tag_name is not None else ")"
        grammar = f"(?(DEFINE){_CALL_NAME}{_JSON}{tail}"
        replaced = {key: value for key, value in field.items() if key not in ("open", "close")}
        if is_json:
            call = f"{_WS}{_body_shape(field)}{_WS}{closing}"
            rest = f"{call}(?:{_unnamed(opening)}{call})*{end}"
            replaced["open_pattern"] = f"{opening}(?={rest}){grammar}"
            replaced["close_pattern"] = f"(?<={plain}{_OUTSIDE_STRINGS}){closing}"
        else:  # a parser that cannot fail (xml-inline): the calls must still be whole, and all of them
            call = f".*?{closing}"
            replaced["open_pattern"] = f"{opening}(?={call}(?:{_unnamed(opening)}{call})*{end}){grammar}"
            replaced["close_pattern"] = closing
        guarded["fields"][name] = replaced
    return guarded


def offered_tools_template(template: dict[str, Any], names: Collection[str]) -> dict[str, Any]:
    """A guarded ``template`` whose calls read back only when they name one of ``names`` (the tools a request
    offers; none offered: no call reads back)."""
    quoted = {form for name in names for form in (json.dumps(name), json.dumps(name, ensure_ascii=False))}
    call_names = "|".join(re.escape(form) for form in sorted(quoted)) or "(?!)"
    tag_names = "|".join(re.escape(name) for name in sorted(names)) or "(?!)"
    narrowed = copy.deepcopy(template)
    for field in narrowed["fields"].values():
        for key in ("open_pattern", "close_pattern"):
            pattern = field.get(key)
            if not isinstance(pattern, str) or "(?(DEFINE)" not in pattern:
                continue
            pattern = pattern.replace(_CALL_NAME, f"(?<slmswap_name>(?:{call_names}))")
            at = pattern.rfind(_TAG_NAME)
            if at >= 0:
                pattern = f"{pattern[:at]}{_TAG_NAME}(?:{tag_names})))"
            field[key] = pattern
    return narrowed


def offered_names(tools: Sequence[Any] | None) -> list[str]:
    """The names of the tools a request offers (OpenAI ``tools`` entries, wrapped or bare)."""
    names = []
    for tool in tools or []:
        function = tool.get("function", tool) if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def narrowed_template(template: Any, tools: Sequence[Any] | None) -> Any:
    """:func:`offered_tools_template` of ``template`` for a request's OpenAI ``tools``; a template that is not
    a dict (none, or one transformers already loaded) as it is."""
    return offered_tools_template(template, offered_names(tools)) if isinstance(template, dict) else template


_UNTYPED_CONTENT = frozenset({"xml-inline", "kv-lines"})
"""transformers' content parsers whose values are text (``<parameter=n>5</parameter>``): only the tool's schema
says that ``5`` is a number."""


def casting_tools(template: Any, tools: list[Any] | None) -> list[Any] | None:
    """The ``tools`` to hand transformers' response parser, which casts each string argument to the type the
    tool's schema declares: ``None`` (no cast) when ``template`` reads calls only from typed syntax (JSON,
    Python literals), so that a served call is what the model wrote (``"passengers": "1"`` stays a string, as
    the offline evaluation reads it and scores it against the schema); ``tools`` when a region's syntax has no
    types (XML parameters, ``key: value`` lines), where the schema is how its values are read."""
    if not isinstance(template, dict):
        return tools
    fields = template.get("fields") or {}
    untyped = any(isinstance(f, dict) and f.get("content") in _UNTYPED_CONTENT for f in fields.values())
    return tools if untyped else None
