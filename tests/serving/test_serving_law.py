"""The serving law, for every built-in format on real chat templates: the exported tokenizer, loaded back with
``AutoTokenizer.from_pretrained``, renders OpenAI ``messages`` + ``tools`` token for token as the evaluator
renders the prompt for the trained model, and its ``response_template`` reads every rendered target back into
the turn's calls (demo data and BFCL rows)."""

from __future__ import annotations

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


@pytest.mark.parametrize(("format_name", "template"), CASES)
def test_served_prompt_is_the_trained_prompt_and_calls_parse_back(
    format_name: str,
    template: str,
    tokenizer: PreTrainedTokenizerBase,
    tool_data: list[Conversation],
    tmp_path: Path,
) -> None:
    trained_tokenizer = _tokenizer(tokenizer, template)
    fmt = resolve_format(format_name, tokenizer=trained_tokenizer)
    served_tokenizer = _export_tokenizer(fmt, trained_tokenizer, tmp_path)
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
