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
