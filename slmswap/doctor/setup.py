"""Checks on a training setup before any work: the tokenizer's chat template, the format and the data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from slmswap.doctor.result import CheckResult, Status, worst
from slmswap.errors import FormatError, TemplateError
from slmswap.formats.base import ChatFormat
from slmswap.formats.registry import tool_call_hint
from slmswap.rendering import shape_messages, template_shape
from slmswap.schema import Conversation
from slmswap.templates.lint import Finding, Severity, lint_template, sample_conversations
from slmswap.templates.prepare import PreparationStats, prepare_dataset
from slmswap.templates.tokenize import DropReason, TokenizeOptions

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["setup_checks"]

_LINT_SAMPLE = 32
_RENDER_SAMPLE = 16

# Doctor check -> the lint checks it reports (the rest of the lint goes under "template").
_FROM_LINT = {
    "special_tokens": ("fake_special_tokens",),
    "train_eval_boundary": ("train_eval_boundary",),
    "end_of_turn": ("end_of_turn",),
    "template": ("double_bos", "prefix_preserving", "drops_tools"),
}
_PASS_REASONS = {
    "special_tokens": "every special-token look-alike in the rendered text is a real token of this tokenizer",
    "train_eval_boundary": "the evaluation prompt is token for token the training text before the answer",
    "end_of_turn": "the end-of-turn marker is part of every trained span",
    "template": "no BOS doubled, prompts are prefixes of the training text, tools and calls are kept",
}


def _from_findings(check: str, findings: Sequence[Finding]) -> CheckResult:
    mine = [f for f in findings if f.check in _FROM_LINT[check]]
    if not mine:
        return CheckResult(check, Status.PASS, _PASS_REASONS[check])
    status = worst([Status.FAIL if f.severity is Severity.ERROR else Status.WARN for f in mine])
    return CheckResult(
        check,
        status,
        mine[0].message,
        mine[0].fix,
        tuple(str(f) for f in mine[1:4]),
    )


def _renders(tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, conversations: Sequence[Conversation]) -> CheckResult:
    """The format's text is exactly what ``tokenizer.apply_chat_template`` renders for its messages."""
    check = "renders_through_template"
    if not isinstance(tokenizer.chat_template, str) or not tokenizer.chat_template:
        return CheckResult(
            check, Status.FAIL, "the tokenizer has no chat template", "use the instruct/chat model's tokenizer"
        )
    compared = 0
    for index, conversation in enumerate(conversations[:_RENDER_SAMPLE]):
        try:
            text = fmt.render(tokenizer, conversation)
        except FormatError:
            continue  # the format cannot write it: counted by the data check
        chat = fmt.chat_input(conversation)
        messages = [
            {key: value for key, value in message.items() if value is not None}
            for message in shape_messages(chat.messages, template_shape(tokenizer))
        ]
        try:
            expected = tokenizer.apply_chat_template(messages, tools=chat.tools, tokenize=False)  # type: ignore[arg-type]
        except Exception as exc:  # jinja raises anything from TemplateError to TypeError
            return CheckResult(
                check,
                Status.FAIL,
                f"tokenizer.apply_chat_template fails on example {index}: {type(exc).__name__}: {exc}",
                "use a chat template that renders this data (slmswap inspect shows the example)",
            )
        if text != expected:
            return CheckResult(
                check,
                Status.FAIL,
                f"format {fmt.name!r} renders example {index} differently from tokenizer.apply_chat_template",
                "render with the model's own chat template (ChatFormat.render); never build prompts by hand",
            )
        compared += 1
    if not compared:
        return CheckResult(check, Status.SKIP, "no example the format can write to compare")
    return CheckResult(check, Status.PASS, f"{compared} example(s) render exactly as tokenizer.apply_chat_template")


def _data(stats: PreparationStats, options: TokenizeOptions) -> list[CheckResult]:
    cut_reason = DropReason.TARGET_TRUNCATED.value
    truncated = stats.dropped.get(cut_reason, 0)
    other = {reason: n for reason, n in stats.dropped.items() if reason != cut_reason}
    examples = tuple(drop for drop in stats.first_drops if not drop.endswith(f"[{cut_reason}]"))[:3]
    cut_examples = tuple(drop for drop in stats.first_drops if drop.endswith(f"[{cut_reason}]"))[:3]
    if stats.kept == 0:
        data = CheckResult(
            "data",
            Status.FAIL,
            f"none of {stats.examples} examples has anything to train ({_counts(stats.dropped)})",
            f"check the format can write this data (tool calls need {tool_call_hint()}) and "
            "that every conversation ends in an assistant turn",
            examples,
        )
    elif other:
        data = CheckResult(
            "data",
            Status.WARN,
            f"{sum(other.values())} of {stats.examples} examples dropped ({_counts(other)})",
            "fix or remove the dropped examples (slmswap inspect shows one)",
            examples,
        )
    else:
        data = CheckResult("data", Status.PASS, stats.summary())
    if truncated:
        limit = options.max_length
        cut = CheckResult(
            "truncation",
            Status.FAIL,
            f"{truncated} example(s) would lose trained tokens at max_length={limit} and are dropped",
            f"raise max_length above the longest example (p99={stats.length_percentiles.get('p99', 0)}, "
            f"max={stats.length_percentiles.get('max', 0)} of those kept) or shorten those examples",
            cut_examples,
        )
    else:
        cut = CheckResult(
            "truncation", Status.PASS, f"no example loses trained tokens (max_length={options.max_length})"
        )
    return [data, cut]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason}={n}" for reason, n in sorted(counts.items()))


def setup_checks(
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    conversations: Sequence[Conversation] | None,
    options: TokenizeOptions,
) -> list[CheckResult]:
    """Template lint (on a sample of the data, else on built-in samples), rendering through the model's own
    template, and what preparing the data would keep, drop and cut."""
    sample = list(conversations[:_LINT_SAMPLE]) if conversations else None
    try:
        findings = lint_template(tokenizer, fmt, sample)
    except TemplateError as exc:
        return [CheckResult("template", Status.FAIL, str(exc), "use a tokenizer with a working chat template")]
    results = [_from_findings(check, findings) for check in _FROM_LINT]
    results.insert(1, _renders(tokenizer, fmt, sample or sample_conversations()))
    if conversations:
        stats = prepare_dataset(conversations, tokenizer, fmt, options).stats
        results.extend(_data(stats, options))
    else:
        results.append(CheckResult("data", Status.SKIP, "no data given"))
        results.append(CheckResult("truncation", Status.SKIP, "no data given"))
    return results
