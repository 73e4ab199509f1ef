"""The serving law, for every built-in format on real chat templates: the exported tokenizer, loaded back with
``AutoTokenizer.from_pretrained``, renders OpenAI ``messages`` + ``tools`` token for token as the evaluator
renders the prompt for the trained model, and its ``response_template`` reads every rendered target back into
the turn's calls (demo data and BFCL rows)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from slmswap.data import load_bfcl_wheel, load_demo_dataset
from slmswap.formats import resolve_format
from slmswap.formats.base import ChatFormat
from slmswap.metrics import canonical_turn
from slmswap.schema import Conversation, Message, Tool, ToolCall
from slmswap.serving import baked_chat_template, openai_request, response_template, served_turn
from tests.real_templates import tokenizer_with_template

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# SmolLM2's own template, and TRL's real ones: with and without a system role (gemma3), with a tool role or
# without (gemma3 merges tool results into user turns), Llama 3.x, Qwen 2.5 / 3, GLM, Cohere, LFM.
TEXT_TEMPLATES = ["smollm2", "qwen2_5", "qwen3", "llama3_1", "llama3_2", "gemma3", "glm4moe", "cohere", "lfm2_2_5"]
# The native format needs a template that renders tools and calls itself.
NATIVE_TEMPLATES = ["qwen2_5", "qwen3", "qwen3_instruct_2507", "qwen3_vl", "glm4moe"]

CASES = [
    *[(name, template) for name in ("hermes", "xml", "cep") for template in TEXT_TEMPLATES],
    *[("structured", template) for template in TEXT_TEMPLATES],
    *[("native", template) for template in NATIVE_TEMPLATES],
]


def _tokenizer(tokenizer: PreTrainedTokenizerBase, template: str) -> PreTrainedTokenizerBase:
    return tokenizer if template == "smollm2" else tokenizer_with_template(tokenizer, template)


def _structured_data() -> list[Conversation]:
    answers = [{"city": "Oslo", "days": 3}, {"name": "Zoë", "tags": ["a", "b"]}, {"ok": True, "n": None}]
    conversations = []
    for k, answer in enumerate(answers):
        messages = [Message.user(f"Extract the record {k}.")]
        if k == 1:
            messages.insert(0, Message.system("You extract records."))
        if k == 2:  # a turn of history before the answer
            messages += [Message.assistant(content='{"ok": false}'), Message.user("Again, properly.")]
        conversations.append(Conversation(messages=(*messages, Message.assistant(content=_dumps(answer)))))
    return conversations


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _with_tool_results() -> list[Conversation]:
    """A call, its result (named, and known only by its call id, as OpenAI logs hold it), then the answer."""
    weather = Tool(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})
    call = ToolCall(name="get_weather", arguments={"city": "Zürich"}, id="call_1")
    conversations = []
    for name in ("get_weather", None):
        messages = (
            Message.system("Be brief."),
            Message.user("Weather in Zürich?"),
            Message.assistant(tool_calls=[call]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="call_1", name=name),
            Message.assistant(content="21 °C."),
        )
        conversations.append(Conversation(messages=messages, tools=(weather,), id=f"tool-result-{name}"))
    return conversations


@pytest.fixture(scope="module")
def tool_data(bfcl_wheel: Path) -> list[Conversation]:
    demo = list(load_demo_dataset("test"))[:12]
    bfcl = [*load_bfcl_wheel(bfcl_wheel, "simple_python")[:4], *load_bfcl_wheel(bfcl_wheel, "parallel")[:4]]
    return demo + bfcl + _with_tool_results()


def _export_tokenizer(fmt: ChatFormat, tokenizer: PreTrainedTokenizerBase, directory: Path) -> Any:
    """The tokenizer as export writes it, read back the way a server reads it."""
    import copy

    from transformers import AutoTokenizer

    exported = copy.deepcopy(tokenizer)
    exported.chat_template = baked_chat_template(fmt, tokenizer)
    exported.response_template = response_template(fmt, tokenizer)
    exported.save_pretrained(str(directory))
    return AutoTokenizer.from_pretrained(str(directory))


Exported = tuple[Any, ChatFormat, Any]
"""The trained tokenizer, its format, and the exported tokenizer read back."""


@pytest.fixture(scope="module")
def exported_tokenizers(
    tokenizer: PreTrainedTokenizerBase, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Exported]:
    """Each case's export, made once for the tests of this module."""
    made: dict[tuple[str, str], Exported] = {}

    def exported(format_name: str, template: str) -> Exported:
        if (format_name, template) not in made:
            trained_tokenizer = _tokenizer(tokenizer, template)
            fmt = resolve_format(format_name, tokenizer=trained_tokenizer)
            directory = tmp_path_factory.mktemp(f"{format_name}-{template}")
            made[format_name, template] = (trained_tokenizer, fmt, _export_tokenizer(fmt, trained_tokenizer, directory))
        return made[format_name, template]

    return exported


@pytest.mark.parametrize(("format_name", "template"), CASES)
def test_served_prompt_is_the_trained_prompt_and_calls_parse_back(
    format_name: str,
    template: str,
    exported_tokenizers: Callable[[str, str], Exported],
    tool_data: list[Conversation],
) -> None:
    trained_tokenizer, fmt, served_tokenizer = exported_tokenizers(format_name, template)
    data = _structured_data() if format_name == "structured" else tool_data
    # Servers hand a template that renders tool calls itself (native) the arguments as objects (transformers
    # serve parses the client's JSON strings); the baked text formats take either.
    variants = (False,) if fmt.serving_tools() else (True, False)
    compared = parsed = 0
    for conversation in data:
        last = conversation.assistant_indices()[-1]
        before = Conversation(messages=conversation.messages[:last], tools=conversation.tools)
        prompt = fmt.render(trained_tokenizer, before, add_generation_prompt=True)
        trained_ids = trained_tokenizer(prompt, add_special_tokens=False)["input_ids"]
        for string_arguments in variants:
            messages, tools = openai_request(before, string_arguments=string_arguments)
            served = served_tokenizer.apply_chat_template(
                messages, tools=tools, add_generation_prompt=True, return_dict=False
            )
            assert list(served) == trained_ids, (conversation.id, prompt)
            compared += 1
        # The whole conversation, history and answer included, renders identically too.
        messages, tools = openai_request(conversation, string_arguments=variants[0])
        assert served_tokenizer.apply_chat_template(messages, tools=tools, tokenize=False) == fmt.render(
            trained_tokenizer, conversation
        )
        reference = conversation.messages[last]
        target = fmt.render_assistant(reference)
        turn = served_turn(served_tokenizer, target, tools, prefix=prompt)
        assert canonical_turn(turn) == canonical_turn(reference), (conversation.id, target)
        parsed += 1
    assert compared == len(variants) * len(data)
    assert parsed == len(data)


# ---- generated, not only rendered, text: what a model writes reads back, as tool_calls when its calls are
# well-formed and offered, as content otherwise, through the engines' own parsing (never an exception: a 500).

NO_MODEL: Any = None
"""The engine's parsing reads the model only for a fallback template, when the tokenizer has none."""


@pytest.fixture
def slmswap_serve_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """:mod:`slmswap.serving.transformers_engine` installed, as ``slmswap serve`` runs ``transformers serve``
    (undone after the test)."""
    import transformers.tokenization_utils_base as tokenization
    from transformers.cli.serving import utils as serving

    from slmswap.serving.transformers_engine import install

    monkeypatch.setattr(tokenization, "_template_parse_response", vars(tokenization)["_template_parse_response"])
    monkeypatch.setattr(serving, "ResponseParser", vars(serving)["ResponseParser"])
    install()


def _generations(fmt: ChatFormat, reference: Message) -> dict[str, str]:
    """What a model may write in place of ``reference``: the well-formed target, and unreadable variants."""
    target = fmt.render_assistant(reference)
    generations = {
        "well_formed": target,
        "truncated": target[: len(target) // 2],  # cut off at max_tokens
        "prose": "Sorry, I cannot help with that yet.",
    }
    if "}" in target:  # JSON arguments (GLM's template writes XML-like ones)
        brace = target.rindex("}")
        generations["malformed"] = target[:brace] + target[brace + 1 :]  # a closing brace missing
    if reference.tool_calls:
        renamed = [call.model_copy(update={"name": "no_such_tool"}) for call in reference.tool_calls]
        generations["unknown_tool"] = fmt.render_assistant(reference.model_copy(update={"tool_calls": renamed}))
    return generations


def _streamed(tokenizer: Any, ids: list[int], prompt_ids: list[int], tools: Any) -> tuple[str, list[Any]]:
    """``transformers serve``'s streaming path: its parser fed the generation token by token (each token's text
    up to 5.24, its id from 5.25, whose parser takes the tokenizer), its events turned into chunks as its streamer
    turns them."""
    import inspect

    from transformers.cli.serving.utils import (
        ToolCall as StreamedCall,
        build_response_parser,
        response_events_to_chunks,
    )
    from transformers.utils.chat_parsing import ResponseParser

    by_id = "tokenizer" in inspect.signature(ResponseParser.__init__).parameters
    parser = build_response_parser(tokenizer, NO_MODEL, prompt_ids, tools=tools)
    assert parser is not None
    chunks = response_events_to_chunks(parser.initial_events)
    for k in range(len(ids)):
        piece = [ids[k]] if by_id else tokenizer.decode(ids[: k + 1])[len(tokenizer.decode(ids[:k])) :]
        chunks += response_events_to_chunks(parser.feed(piece))
    chunks += response_events_to_chunks(parser.finalize()[1])
    text = "".join(chunk for chunk in chunks if isinstance(chunk, str))
    return text, [chunk for chunk in chunks if isinstance(chunk, StreamedCall)]


def _vllm_plugin(template: dict[str, Any], directory: Path) -> Any:
    """The vLLM plugin export writes, imported without vLLM (its reader, not its registration)."""
    import importlib.util

    from slmswap.serving.vllm_parser import write_vllm_parser

    path = directory / "plugin.py"
    write_vllm_parser(path, template)
    spec = importlib.util.spec_from_file_location("slmswap_plugin_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("format_name", "template"), CASES)
def test_generated_text_reads_back_as_calls_or_content_never_an_error(
    format_name: str,
    template: str,
    exported_tokenizers: Callable[[str, str], Exported],
    tool_data: list[Conversation],
    tmp_path: Path,
    slmswap_serve_layer: None,
) -> None:
    from transformers.cli.serving.utils import parse_assistant_message

    from slmswap.evaluation.generation import stop_markers

    trained_tokenizer, fmt, served_tokenizer = exported_tokenizers(format_name, template)
    plugin = _vllm_plugin(served_tokenizer.response_template, tmp_path)
    # GLM's template ends a turn at the next role tag, not at this tokenizer's EOS (SmolLM2's <|im_end|>).
    end = "" if template == "glm4moe" else stop_markers(trained_tokenizer)[0]
    data = _structured_data() if format_name == "structured" else [c for c in tool_data if c.messages[-1].tool_calls]
    seen: dict[str, int] = {}
    for conversation in data[:2]:
        last = conversation.assistant_indices()[-1]
        before = Conversation(messages=conversation.messages[:last], tools=conversation.tools)
        prompt = fmt.render(trained_tokenizer, before, add_generation_prompt=True)
        prompt_ids = trained_tokenizer(prompt, add_special_tokens=False)["input_ids"]
        _, tools = openai_request(before)
        reference = conversation.messages[last]
        for kind, text in _generations(fmt, reference).items():
            seen[kind] = seen.get(kind, 0) + 1
            generated = text if kind == "truncated" else text + end  # a cut-off answer has no end marker
            ids = served_tokenizer(generated, add_special_tokens=False)["input_ids"]
            cleaned = served_tokenizer.decode(ids, skip_special_tokens=True)
            content, _, calls = parse_assistant_message(served_tokenizer, NO_MODEL, ids, [prompt_ids], cleaned, tools)
            streamed_content, streamed_calls = _streamed(served_tokenizer, ids, prompt_ids, tools)
            vllm_content, vllm_calls = plugin.read_answer(text, tools)
            turn = served_turn(served_tokenizer, generated, tools, prefix=prompt)
            where = (conversation.id, kind, generated)
            if kind == "well_formed" and reference.tool_calls:
                expected = [(c.name, c.arguments) for c in reference.tool_calls]
                assert [(c.name, json.loads(c.arguments)) for c in calls or []] == expected, where
                assert [(c.name, json.loads(c.arguments)) for c in streamed_calls] == expected, where
                assert [(name, json.loads(arguments)) for name, arguments in vllm_calls] == expected, where
                assert canonical_turn(turn) == canonical_turn(reference), where
                continue
            # Unreadable (or a JSON answer, which is content): the text as the model wrote it, and no calls.
            assert calls is None, where
            assert streamed_calls == [], where
            assert vllm_calls == [], where
            assert not turn.tool_calls, where
            written = text[text.index("<tool_call") :] if "<tool_call" in text else text.strip()
            for read in (content, streamed_content, vllm_content, turn.content):
                assert read is not None, where
                assert read.strip().endswith(written.strip()), (where, read)
    assert {"well_formed", "truncated", "prose"} <= set(seen)
    assert format_name == "structured" or {"malformed", "unknown_tool"} <= set(seen) or template == "glm4moe"


@pytest.mark.parametrize(
    ("format_name", "template"),
    [("hermes", "smollm2"), ("xml", "qwen2_5"), ("native", "qwen2_5"), ("native", "glm4moe")],
)
def test_a_served_call_is_what_the_model_wrote_cast_only_where_its_syntax_has_no_types(
    format_name: str,
    template: str,
    exported_tokenizers: Callable[[str, str], Exported],
    tmp_path: Path,
    slmswap_serve_layer: None,
) -> None:
    """A JSON call's ``"passengers": "1"`` (the schema says integer) is served as the model wrote it, a string,
    through every engine path, as the offline evaluation reads it; GLM's XML parameters have no types, and the
    schema reads its ``1`` as the integer."""
    from transformers.cli.serving.utils import parse_assistant_message

    from slmswap.evaluation.generation import stop_markers

    trained_tokenizer, fmt, served_tokenizer = exported_tokenizers(format_name, template)
    plugin = _vllm_plugin(served_tokenizer.response_template, tmp_path)
    properties = {"passengers": {"type": "integer"}, "city": {"type": "string"}}
    tool = Tool(name="book_flight", parameters={"type": "object", "properties": properties})
    before = Conversation(messages=(Message.user("A flight to Oslo for one."),), tools=(tool,))
    untyped = template == "glm4moe"
    written = {"passengers": 1 if untyped else "1", "city": "Oslo"}
    text = fmt.render_assistant(Message.assistant(tool_calls=[ToolCall(name="book_flight", arguments=written)]))
    prompt = fmt.render(trained_tokenizer, before, add_generation_prompt=True)
    prompt_ids = trained_tokenizer(prompt, add_special_tokens=False)["input_ids"]
    _, tools = openai_request(before)
    end = "" if untyped else stop_markers(trained_tokenizer)[0]
    ids = served_tokenizer(text + end, add_special_tokens=False)["input_ids"]
    cleaned = served_tokenizer.decode(ids, skip_special_tokens=True)
    _, _, calls = parse_assistant_message(served_tokenizer, NO_MODEL, ids, [prompt_ids], cleaned, tools)
    _, streamed_calls = _streamed(served_tokenizer, ids, prompt_ids, tools)
    _, vllm_calls = plugin.read_answer(text, tools)
    turn = served_turn(served_tokenizer, text + end, tools, prefix=prompt)
    served = {"passengers": 1, "city": "Oslo"} if untyped else written
    assert [json.loads(c.arguments) for c in calls or []] == [served], text
    assert [json.loads(c.arguments) for c in streamed_calls] == [served], text
    assert [json.loads(arguments) for _, arguments in vllm_calls] == [served], text
    assert [c.arguments for c in turn.tool_calls] == [served], text
