"""``slmswap.doctor.diagnose`` on the real tokenizer: each check fails on the problem it names, and passes on a
sound setup."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap.data.demo import load_demo_dataset
from slmswap.doctor import Status, diagnose, diagnose_paths
from slmswap.doctor.outcome import JUDGED_SIZE
from slmswap.evaluation import Generation, Prompt, Run, eval_items, evaluate_into
from slmswap.formats import get_format
from slmswap.formats.hermes import HermesFormat
from slmswap.schema import Conversation, Message, ToolCall
from slmswap.templates import TokenizeOptions
from slmswap.train import Manifest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class HandWrittenHermes(HermesFormat):
    """Hermes, but rendered with hand-written role strings instead of the model's template (the seed's way)."""

    def render(
        self, tokenizer: PreTrainedTokenizerBase, conversation: Conversation, *, add_generation_prompt: bool = False
    ) -> str:
        chat = self.chat_input(conversation)
        text = "".join(f"### {m['role']}\n{m['content']}\n" for m in chat.messages)
        return text + ("### assistant\n" if add_generation_prompt else "")


def _answer(text: str) -> object:
    def generate(prompts: Sequence[Prompt]) -> list[Generation]:
        return [Generation(text=text, tokens=1, seconds=0.0) for _ in prompts]

    return generate


def _run(directory: Path, tokenizer: PreTrainedTokenizerBase, fmt_name: str, answer: str, examples: int = 6) -> Run:
    test = load_demo_dataset("test")[:examples]
    return evaluate_into(directory, test, _answer(answer), tokenizer, get_format(fmt_name))  # type: ignore[arg-type]


def test_sound_setup_passes(tokenizer: PreTrainedTokenizerBase) -> None:
    report = diagnose(tokenizer=tokenizer, fmt=get_format("hermes"), conversations=load_demo_dataset("train")[:40])
    assert report.ok, report.render()
    assert {r.check for r in report.results} == {
        "special_tokens",
        "renders_through_template",
        "train_eval_boundary",
        "end_of_turn",
        "template",
        "data",
        "truncation",
    }
    assert all(r.status is Status.PASS for r in report.results)


def test_a_format_that_bypasses_the_chat_template_fails(tokenizer: PreTrainedTokenizerBase) -> None:
    report = diagnose(tokenizer=tokenizer, fmt=HandWrittenHermes(), conversations=load_demo_dataset("train")[:4])
    result = report["renders_through_template"]
    assert result.status is Status.FAIL
    assert "renders example 0 differently from tokenizer.apply_chat_template" in result.reason


def test_data_the_format_cannot_write_fails(tokenizer: PreTrainedTokenizerBase) -> None:
    calls = [c for c in load_demo_dataset("train")[:10] if c.messages[-1].tool_calls]
    report = diagnose(tokenizer=tokenizer, fmt=get_format("structured"), conversations=calls)
    assert report["data"].status is Status.FAIL
    assert f"none of {len(calls)} examples has anything to train (format_cannot_express={len(calls)})" in (
        report["data"].reason
    )


def test_truncation_fails_and_names_the_limit(tokenizer: PreTrainedTokenizerBase) -> None:
    data = load_demo_dataset("train")[:40]
    report = diagnose(
        tokenizer=tokenizer, fmt=get_format("hermes"), conversations=data, options=TokenizeOptions(max_length=300)
    )
    assert report["truncation"].status is Status.FAIL
    assert "at max_length=300" in report["truncation"].reason
    assert report["data"].status is Status.PASS  # the others are kept


def test_zero_accuracy_and_prompt_parity(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    silent = _run(tmp_path / "silent", tokenizer, "hermes", "I cannot help with that.")
    other = _run(tmp_path / "xml", tokenizer, "xml", "I cannot help with that.")
    report = diagnose(runs=[silent], baseline=other)
    accuracy = report["task_accuracy"]
    assert accuracy.status is Status.SKIP  # 0 on 6 examples is what a model right one time in ten often scores
    assert accuracy.reason == (
        "silent: arguments_exact_match = 0.000 on 6 held-out examples, not judged at this size (a model right one "
        "time in ten scores 0 on 6 examples 53% of the time; 29 are needed)"
    )
    parity = report["baseline_parity"]
    assert parity.status is Status.FAIL
    assert "6 of 6 prompts differ between 'xml' and 'silent'" in parity.reason
    same = diagnose(runs=[silent], baseline=_run(tmp_path / "llm", tokenizer, "hermes", "No."))
    assert same["baseline_parity"].status is Status.PASS
    assert diagnose(runs=[silent])["baseline_parity"].status is Status.WARN
    samples = report["sample_outputs"].details
    assert samples[0] == "silent #demo-test-000 (parsed, wrong: no_call): 'I cannot help with that.'"


def test_zero_accuracy_fails_from_the_judged_size(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    """0 fails ``task_accuracy`` from 29 scored examples on (a model right one time in ten scores 0 on them under
    5 % of the time), and is not judged on one fewer; a model right once passes at any size."""
    test = [c for c in load_demo_dataset("test") if c.messages[-1].tool_calls]
    assert len(test) >= JUDGED_SIZE == 29

    def run(name: str, examples: list[Conversation], answer: str) -> Run:
        return evaluate_into(tmp_path / name, examples, _answer(answer), tokenizer, get_format("hermes"))  # type: ignore[arg-type]

    judged = diagnose(runs=[run("judged", test[:JUDGED_SIZE], "No.")])["task_accuracy"]
    assert judged.status is Status.FAIL
    assert judged.reason == f"judged: arguments_exact_match = 0.000 on {JUDGED_SIZE} held-out examples"
    assert "learnt the wrong thing" in judged.fix
    small = diagnose(runs=[run("small", test[: JUDGED_SIZE - 1], "No.")])["task_accuracy"]
    assert small.status is Status.SKIP
    assert "not judged at this size" in small.reason
    assert "5% of the time" in small.reason
    items, _ = eval_items(test[:2], tokenizer, get_format("hermes"))
    right = get_format("hermes").render_assistant(items[0].reference)
    once = diagnose(runs=[run("once", test[:2], right)])["task_accuracy"]
    assert once.status is Status.PASS
    assert once.reason == "once: arguments_exact_match = 0.500 on 2 held-out examples"
    both = diagnose(runs=[run("again", test[:2], right), run("tiny", test[:3], "No.")])["task_accuracy"]
    assert both.status is Status.PASS  # the tiny run is not judged; the judged one passes


def test_a_model_that_stops_abstaining_is_named(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    """The tuned model calls a tool on every question, also where the reference answers without one: the doctor
    warns (paired against the baseline; eight examples, so McNemar can call it too) and names the examples; a
    model that abstains as before passes."""
    test = [c for c in load_demo_dataset("test") if not c.messages[-1].tool_calls][:8] + load_demo_dataset("test")[:2]
    call = '<tool_call>\n{"name": "get_news", "arguments": {"topic": "x"}}\n</tool_call>'

    def run(name: str, answer: str) -> Run:
        return evaluate_into(tmp_path / name, test, _answer(answer), tokenizer, get_format("hermes"))  # type: ignore[arg-type]

    base, eager, calm = run("base", "I can answer that myself."), run("eager", call), run("calm", "Sure.")
    assert base.result.metrics.values["abstention"].value == 1.0
    assert eager.result.metrics.values["abstention"].value == 0.0
    found = diagnose(runs=[eager], baseline=base)["abstention"]
    assert found.status is Status.WARN
    assert "eager abstains less than base: -1.00" in found.reason
    assert repr(test[0].id) in found.reason
    assert diagnose(runs=[calm], baseline=base)["abstention"].status is Status.PASS
    assert diagnose(runs=[eager])["abstention"].status is Status.SKIP


def _answers(texts: list[str]) -> object:
    def generate(prompts: Sequence[Prompt]) -> list[Generation]:
        return [Generation(text=texts.pop(0), tokens=1, seconds=0.0) for _ in prompts]

    return generate


def test_sample_outputs_say_parsed_correct_or_wrong(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    fmt = get_format("hermes")
    test = load_demo_dataset("test")[:3]
    items, _ = eval_items(test, tokenizer, fmt)
    right = fmt.render_assistant(items[0].reference)
    call = items[1].reference.tool_calls[0]
    changed = {key: "nowhere" if isinstance(value, str) else value for key, value in call.arguments.items()}
    wrong = fmt.render_assistant(Message.assistant(tool_calls=[ToolCall(name=call.name, arguments=changed)]))
    # right, then the right tool with wrong argument values, then an answer cut short
    run = evaluate_into(tmp_path / "run", test, _answers([right, wrong, right[:12]]), tokenizer, fmt)  # type: ignore[arg-type]
    samples = diagnose(runs=[run])["sample_outputs"].details
    assert samples[0].startswith("run #demo-test-000 (parsed, correct): ")
    assert samples[1].startswith("run #demo-test-001 (parsed, wrong: value_mismatch: ")
    assert samples[2].startswith("run #demo-test-002 (not parsed: ")


def test_the_baseline_next_to_the_run_is_found(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    tuned = tmp_path / "runs" / "tuned"
    _run(tuned, tokenizer, "hermes", "No.")
    alone = diagnose_paths(runs=[tuned])["baseline_parity"]
    assert alone.status is Status.WARN
    assert "no baseline run given" in alone.reason
    _run(tmp_path / "runs" / "base", tokenizer, "hermes", "Yes.")
    found = diagnose_paths(runs=[tuned])["baseline_parity"]
    assert found.status is Status.PASS, found.reason
    assert found.reason == "baseline 'base' was given the very same prompts as 'tuned'"
    assert found.details[0].startswith(f"baseline: {tmp_path / 'runs' / 'base'}, found next to the runs")


def test_trained_format_agreement_reads_as_a_sentence(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    fmt = get_format("hermes")
    manifest = Manifest.create(
        fmt=fmt, tokenizer=tokenizer, base_model="m", method="lora", config={}, data={}, metrics={}
    )
    manifest.save(tmp_path / "out")
    run = _run(tmp_path / "tuned", tokenizer, "hermes", "No.")
    one = diagnose(output_dir=tmp_path / "out", runs=[run])["trained_format"]
    assert one.reason == "trained with 'hermes' v1; 1 evaluation run agrees with it"
    both = diagnose(output_dir=tmp_path / "out", runs=[run, run], tokenizer=tokenizer, fmt=fmt)["trained_format"]
    assert both.reason == "trained with 'hermes' v1; the setup checked here and 2 evaluation runs agree with it"
