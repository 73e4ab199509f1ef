"""The serving law, as a check: what a server renders from OpenAI ``messages`` and ``tools`` with the exported
tokenizer is token for token the prompt slmswap's evaluator gives the trained model, and the exported
response template reads each rendered target back into the turn's calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slmswap.data.openai import openai_request
from slmswap.errors import FormatError
from slmswap.evaluation.prompts import EvalItem, eval_items
from slmswap.metrics.task import canonical_turn
from slmswap.schema import Conversation, Message, ToolCall
from slmswap.serving.readable import casting_tools, narrowed_template
from slmswap.trained.manifest import Manifest, load_trained_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from slmswap.formats.base import ChatFormat

__all__ = ["ParityReport", "served_turn", "serving_parity"]


@dataclass(frozen=True)
class ParityReport:
    """What :func:`serving_parity` compared, and where served and trained differ."""

    prompts: int
    """Prompts compared token for token."""
    parsed: int
    """Rendered targets read back through the response template."""
    mismatches: tuple[str, ...]
    """One line per difference: the example and what differs."""

    @property
    def ok(self) -> bool:
        """No difference."""
        return not self.mismatches


def served_turn(
    tokenizer: PreTrainedTokenizerBase, text: str, tools: Sequence[dict[str, Any]] | None, *, prefix: str
) -> Message:
    """The assistant turn ``slmswap serve`` reads out of ``text`` (generated after the rendered prompt
    ``prefix``) with the tokenizer's ``response_template`` narrowed to the offered ``tools`` (as
    :mod:`~slmswap.serving.transformers_engine` has ``transformers serve`` read it, and the vLLM plugin)."""
    from transformers.utils.chat_parsing import parse_response  # not the tokenizer's: serve's layer narrows that

    offered: list[Any] | None = list(tools) if tools else None
    template = getattr(tokenizer, "response_template", None)
    schema = narrowed_template(template, offered)
    parsed: Any = parse_response(text, schema, prefix=prefix, tools=casting_tools(template, offered))
    calls = [
        ToolCall(name=entry["function"]["name"], arguments=entry["function"].get("arguments") or {})
        for entry in parsed.get("tool_calls") or []
    ]
    return Message.assistant(content=(parsed.get("content") or "").strip() or None, tool_calls=calls)


def serving_parity(exported: str | Path, conversations: Sequence[Conversation]) -> ParityReport:
    """Compare, on the last assistant turn of each conversation, the prompt the exported tokenizer renders from
    OpenAI messages (arguments as JSON strings, as clients send them, and as objects) with the prompt the
    evaluator renders through the trained format, token for token; and read each rendered target back through
    the exported response template."""
    from transformers import AutoTokenizer

    directory = Path(exported)
    served_tokenizer = AutoTokenizer.from_pretrained(str(directory))
    trained_tokenizer = load_trained_tokenizer(directory)
    fmt = Manifest.load(directory).trained_format(trained_tokenizer)
    mismatches: list[str] = []
    prompts = parsed = 0
    # A template that renders calls itself gets arguments as objects (transformers serve parses the client's
    # JSON strings); a baked text format takes either.
    variants = (False,) if fmt.serving_tools() else (True, False)
    items, _ = eval_items([c for c in conversations if _writable(fmt, c)], trained_tokenizer, fmt)
    for item in items:
        before = item.prompt.conversation
        assert before is not None  # eval_items always keeps the conversation before the answer
        trained = trained_tokenizer(item.prompt.text, add_special_tokens=False)["input_ids"]
        for string_arguments in variants:
            messages, tools = openai_request(before, string_arguments=string_arguments)
            served = served_tokenizer.apply_chat_template(
                messages,
                tools=tools,  # type: ignore[arg-type]  # transformers types tools loosely
                add_generation_prompt=True,
                tokenize=True,
                return_dict=False,
            )
            prompts += 1
            if list(served) != list(trained):
                mismatches.append(f"example {item.id}: the served prompt differs from the trained one")
                break
        mismatch = _read_back(served_tokenizer, fmt, item)
        parsed += 1
        if mismatch:
            mismatches.append(f"example {item.id}: {mismatch}")
    return ParityReport(prompts=prompts, parsed=parsed, mismatches=tuple(mismatches))


def _writable(fmt: ChatFormat, conversation: Conversation) -> bool:
    """Whether ``fmt`` can write ``conversation`` (a JSON-answer format cannot write a tool call)."""
    try:
        fmt.check(conversation)
    except FormatError:
        return False
    return True


def _read_back(tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, item: EvalItem) -> str:
    target = fmt.render_assistant(item.reference)
    tools = [tool.to_openai() for tool in item.conversation.tools]
    try:
        served = served_turn(tokenizer, target, tools, prefix=item.prompt.text)
    except Exception as exc:  # the response parser raises whatever its regexes and json.loads raise
        return f"the response template cannot read the rendered target: {type(exc).__name__}: {exc}"
    if canonical_turn(served) != canonical_turn(item.reference):
        return f"the response template reads {served.tool_calls or served.content!r} from the rendered target"
    return ""
