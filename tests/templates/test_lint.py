"""Template lint: each check fires on the problem it names and stays quiet on real templates."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import pytest

from slmswap.formats import get_format
from slmswap.schema import Conversation, Message
from slmswap.templates import Severity, lint_template, tokenize_conversation
from tests.real_templates import original_templates, tokenizer_with_template

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SEED_FORMAT = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""The seed project's hand-written format: role markers as plain strings, which Llama 3's vocabulary lacks."""


def _checks(findings: list[object]) -> set[str]:
    return {f.check for f in findings}  # type: ignore[attr-defined]


def test_fake_role_tokens_are_flagged_on_a_llama3_tokenizer(tokenizer: PreTrainedTokenizerBase) -> None:
    llama3 = tokenizer_with_template(tokenizer, "llama3")
    assert llama3.convert_tokens_to_ids("<|eot_id|>") != llama3.unk_token_id  # a real Llama 3 special token
    llama3.chat_template = SEED_FORMAT
    findings = [f for f in lint_template(llama3, get_format("hermes")) if f.check == "fake_special_tokens"]
    flagged = {f.message.split("'")[1] for f in findings}
    assert flagged == {"<|system|>", "<|user|>", "<|assistant|>", "<|tool|>"}
    assert all(f.severity is Severity.ERROR for f in findings)
    assert "not one in this tokenizer" in findings[0].message
    assert "chat template" in findings[0].fix


def test_fake_tokens_written_into_the_data_are_flagged(tokenizer: PreTrainedTokenizerBase) -> None:
    data = [
        Conversation(messages=(Message.user("<|system|>\nYou are a bot.\n<|user|>\nHi"), Message.assistant("Hello")))
    ]
    findings = lint_template(tokenizer, get_format("hermes"), data)
    assert _checks(findings) == {"fake_special_tokens"}


@pytest.mark.parametrize("template", ["smollm2", *original_templates()])
def test_no_fake_token_findings_on_real_templates(
    template_tokenizers: dict[str, PreTrainedTokenizerBase], template: str
) -> None:
    findings = lint_template(template_tokenizers[template], get_format("hermes"))
    assert "fake_special_tokens" not in _checks(findings), findings


def test_clean_setup_has_no_findings(tokenizer: PreTrainedTokenizerBase) -> None:
    for name in ("hermes", "xml", "cep", "structured"):
        assert lint_template(tokenizer, get_format(name)) == [], name


def test_reasoning_template_is_not_prefix_preserving(template_tokenizers: dict[str, PreTrainedTokenizerBase]) -> None:
    findings = lint_template(template_tokenizers["qwen3_5_think"], get_format("hermes"))
    assert "prefix_preserving" in _checks(findings)


def test_missing_end_of_turn_marker(template_tokenizers: dict[str, PreTrainedTokenizerBase]) -> None:
    findings = lint_template(template_tokenizers["glm4moe"], get_format("hermes"))
    assert [f.severity for f in findings if f.check == "end_of_turn"] == [Severity.ERROR]


def test_plain_text_end_marker_is_a_warning(tokenizer: PreTrainedTokenizerBase) -> None:
    plain = copy.deepcopy(tokenizer)
    plain.chat_template = (
        "{% for m in messages %}### {{ m['role'] }}\n{{ m['content'] }}\n### end\n{% endfor %}"
        "{% if add_generation_prompt %}### assistant\n{% endif %}"
    )
    end = [f for f in lint_template(plain, get_format("hermes")) if f.check == "end_of_turn"]
    assert [f.severity for f in end] == [Severity.WARNING]
    assert "### end'" in end[0].message


def test_double_bos(tokenizer: PreTrainedTokenizerBase) -> None:
    doubled = copy.deepcopy(tokenizer)
    doubled.chat_template = "{{ bos_token }}" + tokenizer.chat_template
    doubled.add_bos_token = True
    if doubled("x", add_special_tokens=True)["input_ids"][:1] != [doubled.bos_token_id]:
        from tokenizers import processors

        bos = (doubled.bos_token, doubled.bos_token_id)
        doubled.backend_tokenizer.post_processor = processors.TemplateProcessing(single="$0", special_tokens=[bos])
        doubled.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos[0]} $0", special_tokens=[bos]
        )
    findings = lint_template(doubled, get_format("hermes"))
    assert "double_bos" in _checks(findings)
    assert "double_bos" not in _checks(lint_template(tokenizer, get_format("hermes")))


def test_template_that_drops_tools(tokenizer: PreTrainedTokenizerBase) -> None:
    from slmswap.formats import ChatInput, HermesFormat
    from slmswap.schema import Tool, ToolCall

    class Forgetful(HermesFormat):
        """A faulty plugin: forgets the system prompt that lists the tools."""

        def chat_input(self, conversation: Conversation) -> ChatInput:
            chat = super().chat_input(conversation)
            return ChatInput([m for m in chat.messages if m["role"] != "system"])

    tools = (Tool(name="get_weather"), Tool(name="get_time"))
    data = [
        Conversation(
            messages=(Message.user("x"), Message.assistant(tool_calls=[ToolCall(name="get_weather")])), tools=tools
        )
    ]
    findings = [f for f in lint_template(tokenizer, Forgetful(), data) if f.check == "drops_tools"]
    assert len(findings) == 1
    assert "'get_time'" in findings[0].message
    assert lint_template(tokenizer, HermesFormat(), data) == []


def test_train_eval_boundary_reports_the_first_differing_token(tokenizer: PreTrainedTokenizerBase) -> None:
    merging = copy.deepcopy(tokenizer)
    merging.chat_template = (
        "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}Assistant: {% endif %}"
    )  # the prompt ends in a space that training merges into the first word (" Hello")
    findings = [f for f in lint_template(merging, get_format("hermes")) if f.check == "train_eval_boundary"]
    assert findings
    assert "first difference at token" in findings[0].message
    assert "'Ġ'" in findings[0].message  # evaluation ends on a lone space token
    example = tokenize_conversation(
        merging, get_format("hermes"), Conversation(messages=(Message.user("Hi"), Message.assistant("Hello")))
    )
    assert example.trained_tokens >= 1
