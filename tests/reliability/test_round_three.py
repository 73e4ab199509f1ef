"""The hostile-input and fault battery, round three: each test reproduces one defect found in what had landed,
and fails on the code before its fix."""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from slmswap.errors import ConfigError, DataError, ModelError
from slmswap.evaluation import Generation, evaluate, evaluate_into, load_run, load_run_dir, read_records
from slmswap.formats import get_format
from slmswap.models import DEFAULT_MODEL, load_model, resolve_model
from slmswap.serving import export
from slmswap.train import Manifest, TrainConfig, Trainer, load_trained
from slmswap.trained.history import append_history, read_history
from tests.cli.cli import slmswap
from tests.evaluation.test_runner import conversations

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# ---------------------------------------------------------------------------------------------------------------
# Issue 27, item 5: four inputs that ended in a traceback, a lost record or a wrong number.
# ---------------------------------------------------------------------------------------------------------------

PACKAGE = Path(__file__).parents[2] / "slmswap"


def _canned(text: str) -> Callable[[Any], list[Generation]]:
    def generate(prompts: Any) -> list[Generation]:
        return [Generation(text=text, tokens=1, seconds=0.0) for _ in prompts]

    return generate


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


# 5a. Adapters (and full weights) load from safetensors only: a pickle is refused by name, before anything loads.
def _pickled_adapter(directory: Path, tokenizer: PreTrainedTokenizerBase, *, with_tokenizer: bool = True) -> Path:
    """A LoRA training output whose adapter was saved with torch.save (adapter_model.bin, no safetensors)."""
    import torch
    from peft import LoraConfig
    from transformers import AutoConfig

    directory.mkdir(parents=True)
    if with_tokenizer:
        tokenizer.save_pretrained(str(directory))
    Manifest.create(
        fmt=get_format("hermes"), tokenizer=tokenizer, base_model=DEFAULT_MODEL, method="lora", config={}, data={},
        metrics={},
    ).save(directory)  # fmt: skip
    base = AutoConfig.from_pretrained(resolve_model())
    LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"], task_type="CAUSAL_LM").save_pretrained(str(directory))
    width = base.hidden_size
    state = {}
    for layer in range(base.num_hidden_layers):
        prefix = f"base_model.model.model.layers.{layer}.self_attn.q_proj"
        state[f"{prefix}.lora_A.weight"] = torch.zeros(2, width)
        state[f"{prefix}.lora_B.weight"] = torch.zeros(width, 2)
    torch.save(state, directory / "adapter_model.bin")
    return directory


def test_a_pickled_adapter_is_refused_by_eval_with_exit_2(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    trained = _pickled_adapter(tmp_path / "trained", tokenizer)
    run = tmp_path / "run"
    result = slmswap(
        "eval", "demo:test", "--limit", "1", "--max-new-tokens", "2", "--model", trained, "--out", run, cwd=tmp_path
    )
    assert result.returncode == 2, result.stdout + result.stderr
    _no_traceback(result.stderr)
    assert f"{trained / 'adapter_model.bin'}: a pickled adapter" in result.stderr
    assert "safetensors only" in result.stderr
    assert not (run / "records.jsonl").exists()  # nothing was evaluated


def test_pickled_weights_are_refused_before_anything_loads(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    import torch

    # No tokenizer files: had anything been loaded before the weights were checked, the tokenizer would fail first.
    adapter = _pickled_adapter(tmp_path / "adapter", tokenizer, with_tokenizer=False)
    with pytest.raises(ModelError, match=r"adapter_model\.bin: a pickled adapter, and slmswap loads adapters from"):
        load_trained(adapter)
    with pytest.raises(ModelError, match=r"adapter_model\.bin: a pickled adapter"):
        export(_pickled_adapter(tmp_path / "whole", tokenizer), tmp_path / "exported")
    assert not (tmp_path / "exported").exists()
    # A full model directory (and a full fine-tune's output) holding only pytorch_model.bin.
    full = tmp_path / "full"
    full.mkdir()
    shutil.copy(Path(resolve_model()) / "config.json", full / "config.json")
    torch.save({"lm_head.weight": torch.zeros(1)}, full / "pytorch_model.bin")
    with pytest.raises(ModelError, match=r"pytorch_model\.bin: a pickled checkpoint"):
        load_model(str(full))
    Manifest.create(
        fmt=get_format("hermes"), tokenizer=tokenizer, base_model=DEFAULT_MODEL, method="full", config={}, data={},
        metrics={},
    ).save(full)  # fmt: skip
    with pytest.raises(ModelError, match=r"pytorch_model\.bin: a pickled checkpoint"):
        load_trained(full)


# 5b. Module names in the PEFT settings are checked against the model before training.
def test_target_modules_naming_no_module_are_refused_before_training(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, tmp_path: Path
) -> None:
    def trainer(**settings: Any) -> Trainer:
        config = TrainConfig(output_dir=tmp_path / "out", max_steps=1, **settings)
        return Trainer(conversations(), model=model, tokenizer=tokenizer, config=config)

    with pytest.raises(ConfigError, match=r"^target_modules: no module named 'no_such_module' in the model; nothing "):
        trainer(target_modules=["no_such_module"])
    with pytest.raises(ConfigError, match=r"^target_modules: no module named 'q_projj' .*close matches: q_proj"):
        trainer(target_modules=["q_proj", "q_projj"])
    with pytest.raises(
        ConfigError, match=r"^peft\.modules_to_save: no module named 'lm_haed' .*close matches: lm_head"
    ):
        trainer(peft={"modules_to_save": ["lm_haed"]})
    expected = re.escape("peft.target_modules: no module name matches '.*qproj' in the model; close matches: ")
    with pytest.raises(ConfigError, match=f"^{expected}.*q_proj"):
        trainer(peft={"target_modules": ".*qproj"})  # one string is a regular expression, as in PEFT
    assert not (tmp_path / "out").exists()
    # PEFT's own rules: a dotted tail, a regular expression over the whole name, and "all-linear".
    for target in (["q_proj", "self_attn.v_proj"], r"model\.layers\.\d+\.self_attn\.q_proj", "ALL-LINEAR"):
        assert trainer(target_modules=target).config.target_modules == target


@pytest.mark.slow
def test_a_job_naming_no_module_exits_2_before_training(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(
        "train: demo:train\nconfig:\n  max_steps: 1\n  target_modules: [no_such_module]\n  output_dir: out\n",
        encoding="utf-8",
    )
    result = slmswap("train", job)
    assert result.returncode == 2, result.stdout + result.stderr
    _no_traceback(result.stderr)
    assert "target_modules: no module named 'no_such_module' in the model" in result.stderr
    assert "q_proj" in result.stderr  # what the model's layers are named
    assert not (tmp_path / "out" / "history.jsonl").exists()  # no step was trained


# 5c. One source of truth for a run's numbers: the records.
def _run(directory: Path, tokenizer: PreTrainedTokenizerBase, text: str) -> Path:
    evaluate_into(directory, conversations(), _canned(text), tokenizer, get_format("hermes"), model="m")
    return directory


GOOD = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def test_results_that_disagree_with_the_records_are_refused(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    run = _run(tmp_path / "run", tokenizer, GOOD)
    results = run / "results.json"
    honest = load_run_dir(run)
    assert honest.result == type(honest.result).model_validate_json(results.read_text())  # the cache agrees
    saved = json.loads(results.read_text())
    # Every value changed, the ids kept: the figures shown would be the file's, not the records'.
    forged = json.loads(results.read_text())
    for value in forged["metrics"]["values"].values():
        value["value"] = value["low"] = value["high"] = 1.0
    results.write_text(json.dumps(forged))
    with pytest.raises(ConfigError, match=r"results\.json disagrees with .*records\.jsonl: it gives \w+ = 1 \(n="):
        load_run_dir(run)
    for command in (("report", run, "--out", tmp_path / "report"), ("compare", run, run), ("doctor", "--run", run)):
        result = slmswap(*command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        _no_traceback(result.stderr)
        assert "disagrees with" in result.stderr
    # One example's score changed (and the mean with it): named by example.
    forged = json.loads(json.dumps(saved))
    forged["metrics"]["scores"]["tool_name_match"][3] = 0.0
    results.write_text(json.dumps(forged))
    with pytest.raises(ConfigError, match=r"it scores tool_name_match = 0\.0 for 'w3', the record says 1\.0"):
        load_run_dir(run)
    # Only the intervals differ (another version's bootstrap, or an edit): the records' intervals are shown.
    forged = json.loads(json.dumps(saved))
    forged["metrics"]["values"]["valid_output"]["low"] = 0.5
    results.write_text(json.dumps(forged))
    with pytest.warns(RuntimeWarning, match=r"its interval of valid_output is \[0\.5, 1\], the records' \[1, 1\]"):
        shown = load_run_dir(run)
    assert shown.result == honest.result


def test_two_different_records_for_one_id_are_refused(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    first, second = _run(tmp_path / "a", tokenizer, GOOD), _run(tmp_path / "b", tokenizer, "No idea.")
    records = first / "records.jsonl"
    records.write_bytes(records.read_bytes() + (second / "records.jsonl").read_bytes())  # two runs appended
    pattern = r"records\.jsonl:7: field 'id': a second, different record for id 'w0' \(the first is on line 1\)"
    with pytest.raises(DataError, match=pattern):
        load_run_dir(first)
    with pytest.raises(DataError, match=pattern):
        evaluate(conversations(), _canned(GOOD), tokenizer, get_format("hermes"), records=records, model="m")
    result = slmswap("report", first, "--out", tmp_path / "report")
    assert result.returncode == 2
    _no_traceback(result.stderr)
    assert "records.jsonl:7: field 'id': a second, different record for id 'w0'" in result.stderr
    # The same record twice (a line copied) is one record.
    lines = (second / "records.jsonl").read_bytes().splitlines(keepends=True)
    (second / "records.jsonl").write_bytes(b"".join(lines) + lines[0])
    assert [record.id for record in read_records(second / "records.jsonl")] == [f"w{k}" for k in range(6)]


def test_resuming_with_other_prompts_is_refused(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    evaluate(conversations(), _canned(GOOD), tokenizer, get_format("hermes"), records=records, model="m")
    before = records.read_bytes()
    with pytest.raises(ConfigError, match=r"holds answers to other prompts for 6 of these examples \('w0'"):
        evaluate(conversations(), _canned(GOOD), tokenizer, get_format("xml"), records=records, model="m")
    assert records.read_bytes() == before  # nothing appended: the file still holds one record per example


# 5d. Every append to a JSON-lines file starts at a line boundary: a torn line costs only itself.
def test_a_line_torn_during_a_run_costs_only_itself(tokenizer: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    records, results = tmp_path / "r.jsonl", tmp_path / "r.json"
    calls = []

    def generate(prompts: Any) -> list[Generation]:
        calls.append(len(prompts))
        if len(calls) == 2:  # while the run waits on its model, a crashed writer leaves half a line
            with records.open("ab") as stream:
                stream.write(b'{"id": "w9", "prompt_hash": "')
        return _canned(GOOD)(prompts)

    fmt = get_format("hermes")
    result = evaluate(conversations(), generate, tokenizer, fmt, records=records, results=results, batch_size=2)
    assert calls == [2, 2, 2]
    assert [record.id for record in read_records(records)] == [f"w{k}" for k in range(6)]  # every one readable
    assert load_run("torn", records, results).result.metrics == result.metrics  # the run owns its results
    with pytest.warns(RuntimeWarning, match=r"1 line\(s\) were not complete records"):
        again = evaluate(conversations(), _canned(GOOD), tokenizer, fmt, records=records)
    assert again.reused == 6


def test_history_appends_after_a_torn_line(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text('{"step": 1, "epoch": 0.1, "loss": 2.0}\n{"step": 2, "epoch": 0.2, "lo', encoding="utf-8")
    append_history(history, {"step": 3, "epoch": 0.3, "loss": 1.5})
    assert read_history(history).series("loss") == [(1, 2.0), (3, 1.5)]


def _append_mode_opens(source: Path) -> list[int]:
    """The lines of ``source`` that open a file in append mode (``open(p, "a")``, ``p.open("ab")``, ...)."""
    lines = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "open":
            modes = node.args[1:2]
        elif isinstance(node.func, ast.Attribute) and node.func.attr in ("open", "fdopen"):
            modes = node.args[:1] if node.func.attr == "open" else node.args[1:2]
        else:
            continue
        modes += [keyword.value for keyword in node.keywords if keyword.arg == "mode"]
        for mode in modes:
            if (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and re.fullmatch(r"[rwxbt+]*a[rwxbt+]*", mode.value)
            ):
                lines.append(node.lineno)
    return lines


def test_every_append_to_a_file_goes_through_the_one_helper() -> None:
    """``append_lines`` (slmswap._files) is the package's only append-mode open: every other appender would
    have to repeat its line-boundary rule."""
    appenders = {
        str(source.relative_to(PACKAGE.parent)): found
        for source in sorted(PACKAGE.rglob("*.py"))
        if (found := _append_mode_opens(source))
    }
    assert list(appenders) == ["slmswap/_files.py"], appenders
    assert len(appenders["slmswap/_files.py"]) == 1, appenders


# ---------------------------------------------------------------------------------------------------------------
# Issue 27, items 2 and 4: valid Unicode at the door; errors that say what to do.
# ---------------------------------------------------------------------------------------------------------------

LONE = "a\ud800b"
"""A string no UTF-8 text can hold: a lone (high) surrogate between two letters."""


def _build(case: str) -> object:
    """The typed core built with ``LONE`` at the place ``case`` names."""
    from slmswap.schema import Conversation, Message, Tool, ToolCall

    ask = {"role": "user", "content": "Weather?"}
    call = {"role": "assistant", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "c1"}]}

    def calling(**tool_call: object) -> Conversation:
        return Conversation.model_validate({"messages": [ask, {"role": "assistant", "tool_calls": [tool_call]}]})

    def answered(**result: object) -> Conversation:
        return Conversation.model_validate({"messages": [ask, call, {"role": "tool", "content": "sunny", **result}]})

    nested = {"where": [{"city": LONE}]}

    def listing(tool: object) -> Conversation:
        return Conversation(messages=[Message.user("hi")], tools=[tool])

    builders: dict[str, Callable[[], object]] = {
        "content": lambda: Message.user(LONE),
        "messages[0].content": lambda: Conversation.model_validate({"messages": [{"role": "user", "content": LONE}]}),
        "id": lambda: Conversation(messages=[Message.user("hi")], id=LONE),
        "messages[1].tool_calls[0].id": lambda: calling(name="f", id=LONE),
        "messages[1].tool_calls[0].name": lambda: calling(name=LONE),
        "messages[1].tool_calls[0].arguments.where[1]": lambda: calling(name="f", arguments={"where": [1, {LONE: 2}]}),
        "messages[1].tool_calls[0].arguments.where[0].city": lambda: calling(name="f", arguments=nested),
        "arguments.city": lambda: ToolCall(name="f", arguments='{"city": "a\\ud800b"}'),  # a JSON string, escaped
        "messages[2].tool_call_id": lambda: answered(tool_call_id=LONE),
        "messages[2].name": lambda: answered(name=LONE),
        "tools[0].description": lambda: listing({"name": "f", "description": LONE}),
        "tools[0].name": lambda: listing({"type": "function", "function": {"name": LONE}}),
        "parameters.properties.city.description": lambda: Tool(
            name="f", parameters={"type": "object", "properties": {"city": {"type": "string", "description": LONE}}}
        ),
        "metadata.tags[0]": lambda: Conversation(messages=[Message.user("hi")], metadata={"tags": [LONE]}),
    }  # fmt: skip
    return builders[case]()


@pytest.mark.parametrize(
    "field",
    [
        "content",
        "messages[0].content",
        "id",
        "messages[1].tool_calls[0].id",
        "messages[1].tool_calls[0].name",
        "messages[1].tool_calls[0].arguments.where[1]",
        "messages[1].tool_calls[0].arguments.where[0].city",
        "arguments.city",
        "messages[2].tool_call_id",
        "messages[2].name",
        "tools[0].description",
        "tools[0].name",
        "parameters.properties.city.description",
        "metadata.tags[0]",
    ],
)
def test_a_lone_surrogate_is_refused_where_it_enters_naming_the_field(field: str) -> None:
    with pytest.raises(DataError, match="holds a lone surrogate, not text") as info:
        _build(field)
    assert info.value.field == field
    assert f"field '{field}'" in str(info.value)
    assert str(info.value).encode("utf-8")  # the message itself is text: it can be printed and logged


def test_valid_text_still_enters() -> None:
    from slmswap.schema import Conversation, Message

    conversation = Conversation(messages=[Message.user("naïve café \U0001f600 \ufffd")], id="ok \u00e9")
    assert Conversation.model_validate_json(conversation.model_dump_json()) == conversation


def test_a_conversation_built_in_code_never_reaches_the_tokenizer_with_a_surrogate(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    """It was a bare TypeError from ``tokenizers``; now the conversation is refused where the string entered."""
    from slmswap.schema import Conversation
    from slmswap.templates import tokenize_conversation

    row = {"messages": [{"role": "user", "content": LONE}, {"role": "assistant", "content": "Hello."}]}
    with pytest.raises(DataError, match=r"field 'messages\[0\]\.content': the string 'a\\ud800b' holds a lone"):
        tokenize_conversation(tokenizer, get_format("hermes"), Conversation.model_validate(row))


def test_rows_handed_over_in_code_are_refused_naming_the_row_and_field() -> None:
    """Rows from a file were refused by the strict JSON reader; rows from Python (a list, a dataset) were not."""
    from slmswap.data import load_openai

    rows = [
        {"messages": [{"role": "user", "content": "fine"}, {"role": "assistant", "content": "ok"}]},
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": LONE}]},
    ]
    with pytest.raises(DataError, match=r"^<iterable>\[1\]: field 'messages\[1\]\.content': the string 'a\\ud800b'"):
        load_openai(rows)
    assert len(load_openai(rows, on_error="collect")) == 1


def test_a_file_row_with_a_surrogate_names_its_field(tmp_path: Path) -> None:
    from slmswap.data import load_conversations

    path = tmp_path / "rows.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "c"}]}\n')
    with pytest.raises(DataError, match=r"rows\.jsonl:1: field 'messages\[0\]\.content': the string '\\ud800' holds"):
        load_conversations(path)


def test_generated_surrogates_are_replaced_scored_and_recorded(
    tokenizer: PreTrainedTokenizerBase, tmp_path: Path
) -> None:
    """A ``Generate`` function may return any ``str``; the real ``evaluate()`` makes it text before it is
    parsed, scored and written, and the record says so. An escaped surrogate inside the JSON (valid text, not
    a valid string) is a parse failure of that answer, not a crash of the run."""
    from slmswap.evaluation.runner import EvalRecord

    answers = {
        "w0": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par\ud800is"}}\n</tool_call>',
        "w1": "I cannot tell \udfff.",
        "w2": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>',
        "w3": '<tool_call>\n{"name": "get_we\\ud800ather", "arguments": {"city": "Oslo"}}\n</tool_call>',
        "w4": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "\\udc00"}}\n</tool_call>',
        "w5": "",
    }
    order = iter(answers)

    def generate(prompts: Any) -> list[Generation]:
        generations = []
        for _ in prompts:
            example = next(order)
            error = "the server said \ud83d" if example == "w5" else None
            generations.append(Generation(text=answers[example], tokens=3, seconds=0.0, error=error))
        return generations

    records, results = tmp_path / "r.jsonl", tmp_path / "r.json"
    fmt = get_format("hermes")
    result = evaluate(conversations(), generate, tokenizer, fmt, records=records, results=results, batch_size=2)
    assert result.examples == 6
    written = {record.id: record for record in read_records(records)}
    assert list(written) == [f"w{k}" for k in range(6)]
    assert [written[f"w{k}"].repaired_text for k in range(6)] == [True, True, False, False, False, True]
    assert written["w0"].raw_output == answers["w0"].replace("\ud800", "\ufffd")
    assert written["w0"].prediction is not None
    assert written["w0"].prediction.tool_calls[0].arguments == {"city": "Par\ufffdis"}  # scored as generated
    assert written["w0"].failure is None
    assert written["w1"].prediction is not None
    assert written["w1"].prediction.content == "I cannot tell \ufffd."
    assert written["w2"].ok
    assert (written["w3"].failure, written["w4"].failure) == ("malformed_call", "bad_arguments")
    assert "holds a lone surrogate" in written["w3"].detail
    assert (written["w5"].failure, written["w5"].detail) == ("backend_error", "the server said \ufffd")
    assert records.read_bytes().decode("utf-8")  # the file is UTF-8 throughout
    # Records without the field (earlier versions) read as not repaired; readers that ignore it still read these.
    old = json.loads(records.read_text(encoding="utf-8").splitlines()[2])
    del old["repaired_text"]
    assert EvalRecord.model_validate(old).repaired_text is False
    again = evaluate(conversations(), generate, tokenizer, fmt, records=records, results=results)
    assert again.reused == 6
    assert again.metrics == result.metrics


def test_get_format_says_what_a_tokenizer_format_needs() -> None:
    from slmswap.errors import FormatError

    with pytest.raises(FormatError) as info:
        get_format("native")
    message = str(info.value)
    assert message.startswith("format 'native' needs the model's tokenizer (it reads the chat template): ")
    assert "get_format('native', tokenizer=...)" in message
    assert "positional argument" not in message


def test_option_errors_come_from_the_capability_flags(
    tokenizer: PreTrainedTokenizerBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slmswap.errors import FormatError
    from slmswap.formats import ChatFormat, HermesFormat, register_format, registry

    def refused(name: str, **options: Any) -> str:
        with pytest.raises(FormatError) as info:
            get_format(name, **options)
        assert "positional argument" not in str(info.value)
        return str(info.value)

    assert refused("hermes", tokenizer=tokenizer).startswith(
        "format 'hermes' takes no tokenizer (formats that read the chat template do: 'native'); "
        "resolve_format('hermes', tokenizer=...) hands one only"
    )
    assert refused("cep", colour="blue") == "format 'cep' does not accept the options 'colour' (its options: variant)"
    assert refused("xml", a=1, b=2) == "format 'xml' does not accept the options 'a', 'b' (it takes no options)"
    assert refused("structured", schema=5).startswith("the structured format's schema must be a JSON Schema object")
    assert refused("native", tokenizer="smollm2").startswith("the native format needs the model's tokenizer")
    assert refused("native", tokenizer=tokenizer, parser="json") == (
        "unknown native parser 'json'; expected one of auto, hermes, llama3, mistral"
    )

    class NeedsTokenizer(HermesFormat):  # a plugin's format that reads the template, and says so
        name = "reads-template"
        needs_tokenizer = True

        def __init__(self, tokenizer: Any, *, depth: int) -> None:
            self.tokenizer, self.depth = tokenizer, depth

    class Sized(HermesFormat):  # not a tokenizer reader: its required option is named as such
        name = "sized"

        def __init__(self, size: int) -> None:
            self.size = size

    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    register_format("reads-template", NeedsTokenizer)
    register_format("sized", Sized)
    assert refused("reads-template", depth=1).startswith("format 'reads-template' needs the model's tokenizer")
    assert refused("reads-template", tokenizer=tokenizer) == (
        "format 'reads-template' needs the option(s) 'depth': get_format('reads-template', depth=...)"
    )
    assert refused("sized") == "format 'sized' needs the option(s) 'size': get_format('sized', size=...)"
    assert "'native', 'reads-template'" in refused("hermes", tokenizer=tokenizer)
    assert isinstance(get_format("reads-template", tokenizer=tokenizer, depth=2), ChatFormat)


def test_a_job_giving_the_format_a_tokenizer_exits_2(tmp_path: Path) -> None:
    """``format_options: {tokenizer: ...}`` reached ``resolve_format`` twice: a TypeError traceback, exit 1."""
    job = tmp_path / "job.yaml"
    job.write_text("train: demo:train\nformat: hermes\nformat_options: {tokenizer: gpt2}\n", encoding="utf-8")
    result = slmswap("doctor", "--config", job)
    assert result.returncode == 2, result.stdout + result.stderr
    _no_traceback(result.stderr)
    assert "field 'format_options': 'tokenizer' is not a format option" in result.stderr  # no pydantic prefix
