"""Hypothesis strategies for assistant turns: unicode, nesting, numbers, quotes, newlines and tag look-alikes."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from slmswap.schema import Message, ToolCall

NASTY = ["</tool_call>", "<tool_call>", '<tool_call name="x">', "}", "{", '"', "\\", "\n", "```", "<think>", "'"]

text = st.one_of(
    st.text(max_size=20), st.sampled_from(NASTY), st.lists(st.sampled_from(NASTY), max_size=4).map("".join)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
    max_leaves=12,
)
tool_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
tool_calls = st.builds(ToolCall, name=tool_names, arguments=st.dictionaries(text, json_values, max_size=5))
content = (
    st.text(min_size=1, max_size=40)
    .map(str.strip)
    .filter(lambda s: bool(s) and "<tool_call" not in s and "<think>" not in s)
)


@st.composite
def call_turns(draw: st.DrawFn) -> Message:
    """Assistant turns with one to three calls, sometimes with leading text."""
    calls = draw(st.lists(tool_calls, min_size=1, max_size=3))
    return Message.assistant(content=draw(st.one_of(st.none(), content)), tool_calls=calls)


json_objects = st.dictionaries(text, json_values, max_size=6)
