"""Output grammars (constrained decoding): for random tool sets, every output the grammar admits parses strictly
under the format and calls only offered tools with declared arguments of the declared types.

The outputs are random walks through llguidance's matcher on the real SmolLM2 tokenizer: each step picks a
token the grammar allows (often one that closes something, so walks end), until the grammar accepts and the
walk takes the end-of-turn token.
"""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slmswap.errors import FormatError
from slmswap.evaluation.constrained import GrammarConstraint
from slmswap.formats import ChatFormat, get_format
from slmswap.formats.base import output_grammar
from slmswap.formats.grammar import OutputGrammar
from slmswap.schema import Message, Tool
from slmswap.validation import first_error
from tests.formats.strategies import content

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_PARAMETER_TYPES: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "string", "enum": ["metric", "imperial", 'a "quoted" one']},
    {"type": "array", "items": {"type": "string"}},
    {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
]
# llguidance's "." leaves out the unassigned planes past U+2FFFF; no tokenizer writes those in practice.
_leads = st.one_of(st.just(""), content.filter(lambda text: all(ord(char) < 0x30000 for char in text)))
_names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def tool_sets(draw: st.DrawFn) -> list[Tool]:
    """One to four tools with distinct names, each with up to four typed parameters, some required."""
    names = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
    tools = []
    for name in names:
        parameters = draw(st.dictionaries(_names, st.sampled_from(_PARAMETER_TYPES), max_size=4))
        required = [p for p in parameters if draw(st.booleans())]
        tools.append(Tool(name=name, parameters={"type": "object", "properties": parameters, "required": required}))
    return tools


@pytest.fixture(scope="module")
def constraint(tokenizer: PreTrainedTokenizerBase) -> GrammarConstraint:
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    return GrammarConstraint(tokenizer, [stop], len(tokenizer))


def _closers(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    pieces = ['"', "}", "]", "0", "1", ",", "true", "null", '"}', "}}", "\n", "a"]
    return {ids[0] for ids in (tokenizer.encode(p, add_special_tokens=False) for p in pieces) if len(ids) == 1}


def _walk(
    constraint: GrammarConstraint,
    tokenizer: PreTrainedTokenizerBase,
    grammar: OutputGrammar,
    prefix: str,
    rng: random.Random,
) -> str:
    """A random output of ``grammar`` that starts with ``prefix`` (which the grammar must allow)."""
    matcher = constraint.matcher(grammar)
    tokens = tokenizer.encode(prefix, add_special_tokens=False) if prefix else []
    assert matcher.consume_tokens(tokens), matcher.get_error()
    stop, closers = constraint.stop_ids[0], _closers(tokenizer)
    for _ in range(400):
        bits = np.unpackbits(np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
        allowed = np.flatnonzero(bits[: constraint.vocab_size]).tolist()
        if stop in allowed and (len(allowed) == 1 or rng.random() < 0.5):
            return str(tokenizer.decode(tokens))
        preferred = [i for i in allowed if i in closers]
        token = rng.choice(preferred if preferred and rng.random() < 0.7 else allowed)
        if token == stop:
            return str(tokenizer.decode(tokens))
        assert matcher.consume_token(token), matcher.get_error()
        tokens.append(token)
    raise AssertionError(f"the walk did not end within 400 tokens: {tokenizer.decode(tokens)!r}")


def _check_calls(turn: Message, tools: list[Tool]) -> None:
    offered = {tool.name: tool for tool in tools}
    for call in turn.tool_calls:
        assert call.name in offered
        declared = offered[call.name].parameters["properties"]
        assert set(call.arguments) <= set(declared)
        assert first_error(offered[call.name].parameters, call.arguments) is None


@pytest.mark.parametrize("name", ["hermes", "xml", "cep"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tools=tool_sets(), lead=_leads, seed=st.integers(0, 2**32), calls=st.booleans())
def test_every_admitted_output_parses_and_calls_only_offered_tools(
    name: str,
    constraint: GrammarConstraint,
    tokenizer: PreTrainedTokenizerBase,
    tools: list[Tool],
    lead: str,
    seed: int,
    calls: bool,
) -> None:
    fmt = get_format(name)
    grammar = output_grammar(fmt, tools)
    prefix = lead + grammar.trigger if calls else lead
    text = _walk(constraint, tokenizer, grammar, prefix, random.Random(seed))
    parsed = fmt.parse(text, tools=tools)
    assert parsed.ok, (text, parsed.failure, parsed.detail)
    assert parsed.turn is not None
    assert bool(parsed.turn.tool_calls) == calls
    _check_calls(parsed.turn, tools)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tools=tool_sets(), seed=st.integers(0, 2**32))
def test_structured_answers_satisfy_the_schema(
    constraint: GrammarConstraint, tokenizer: PreTrainedTokenizerBase, tools: list[Tool], seed: int
) -> None:
    schema = tools[0].parameters
    fmt = get_format("structured", schema=schema)
    text = _walk(constraint, tokenizer, output_grammar(fmt, tools), "", random.Random(seed))
    parsed = fmt.parse(text)
    assert parsed.ok, (text, parsed.failure, parsed.detail)


def test_what_the_grammar_refuses(constraint: GrammarConstraint, tokenizer: PreTrainedTokenizerBase) -> None:
    weather = Tool(
        name="get_weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    grammar = output_grammar(get_format("hermes"), [weather])

    def admits(text: str) -> bool:
        matcher = constraint.matcher(grammar)
        return bool(matcher.consume_tokens(tokenizer.encode(text, add_special_tokens=False))) and bool(
            matcher.is_accepting()
        )

    call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    assert admits(call)
    assert admits("I cannot help with that.")  # abstention stays possible
    assert admits("Sure.\n" + call + "\n" + call)
    assert not admits(call.replace("get_weather", "get_forecast"))  # a tool not offered
    assert not admits(call.replace('"city": "Paris"', '"city": "Paris", "units": "metric"'))  # undeclared argument
    assert not admits(call.replace('"Paris"', "42"))  # the declared type
    assert not admits(call.replace('{"city": "Paris"}', "{}"))  # a required argument
    assert not admits(call[:-3])  # unclosed
    assert not admits("  \n")  # a blank answer is no answer
    assert not admits(call + " and more")  # text after the calls
    calls_only = constraint.matcher(dataclasses.replace(grammar, text=False))
    assert not calls_only.consume_tokens(tokenizer.encode("No.", add_special_tokens=False))


class Opaque(ChatFormat):
    name = "opaque"
    system_prompt_source = "none"

    def render_assistant(self, turn: Message) -> str:
        return turn.content or ""

    def parse(self, text: str, *, tools: Any = (), strict: bool = True) -> Any:
        raise NotImplementedError


def test_a_format_without_a_grammar_is_refused_by_name() -> None:
    with pytest.raises(FormatError, match="format 'opaque' provides no output grammar"):
        output_grammar(Opaque(), [])


def test_a_malformed_grammar_is_refused() -> None:
    with pytest.raises(FormatError, match="needs the trigger"):
        OutputGrammar(calls=(dataclasses.replace(output_grammar(get_format("xml"), [Tool(name="f")]).calls[0]),))
