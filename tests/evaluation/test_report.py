"""Reports, built from the files a run leaves behind (no model needed)."""

from __future__ import annotations

from pathlib import Path

from slmswap._files import write_atomically
from slmswap.evaluation import EvaluationResult, load_run, read_records, write_report
from slmswap.evaluation.runner import EvalRecord
from slmswap.formats import get_format
from slmswap.metrics import ScoredExample, default_metrics, issues, score_examples
from slmswap.schema import Message, ToolCall

FMT = get_format("hermes")
REFERENCE = Message.assistant(tool_calls=[ToolCall(name="get_weather", arguments={"city": "Paris"})])
GOOD = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
BAD = "The weather is <b>nice</b>, I think."


def save_run(directory: Path, outputs: list[str]) -> tuple[Path, Path]:
    """Write a run's records and results as ``evaluate`` would, from given raw outputs."""
    records, examples = [], []
    for k, text in enumerate(outputs):
        parsed = FMT.parse(text)
        example = ScoredExample(reference=REFERENCE, prediction=parsed)
        examples.append(example)
        records.append(
            EvalRecord(
                id=f"e{k}",
                prompt_hash="h",
                raw_output=text,
                ok=parsed.ok,
                failure=parsed.failure.value if parsed.failure else None,
                detail=parsed.detail,
                forgiven=[],
                prediction=parsed.turn,
                scores={m.name: m.score(example) for m in default_metrics()},
                issues=issues(example),
                seconds=0.1,
                tokens=10,
            )
        )
    result = EvaluationResult(
        format=FMT.name,
        format_version=FMT.version,
        system_prompt_source=FMT.system_prompt_source,
        examples=len(outputs),
        reused=0,
        skipped={},
        metrics=score_examples(examples, ids=[r.id for r in records]),
    )
    directory.mkdir(parents=True)
    write_atomically(directory / "records.jsonl", "".join(r.model_dump_json() + "\n" for r in records))
    write_atomically(directory / "results.json", result.model_dump_json())
    return directory / "results.json", directory / "records.jsonl"


def test_report_from_saved_files(tmp_path: Path) -> None:
    results, records = save_run(tmp_path / "base", [BAD] * 9 + [GOOD])
    base = load_run("base", records, results)
    results, records = save_run(tmp_path / "tuned", [GOOD] * 9 + [BAD])
    tuned = load_run("tuned", records, results)
    assert len(read_records(tmp_path / "tuned" / "records.jsonl")) == 10
    paths = write_report([base, tuned], tmp_path / "report")
    markdown = paths["markdown"].read_text()
    assert "| tool_name_match | 0.100 [" in markdown
    assert "## tuned vs base (paired)" in markdown
    assert "| arguments_exact_match | +0.800 | [" in markdown
    assert "Hermes' function-calling instructions" in markdown  # prompt parity is stated
    assert "- base: ok: 10" in markdown  # plain text is a valid (if wrong) turn under hermes
    assert "## Worst examples: tuned" in markdown
    assert "no_call" in markdown  # the issue of a prose answer where a call was due
    assert "## Where it fails: base" in markdown
    assert "| get_weather | 10 | " in markdown  # every metric per tool
    assert tuned.result.metrics.by_tool["get_weather"]["valid_call"].value == 0.9
    assert base.result.metrics.issue_counts["no_call"] == 9
    assert "Issue kinds (examples showing each): missing_fields: 9, no_call: 9" in markdown
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert page.count("<rect") == 2 * len(tuned.result.metrics.values)  # one bar per run and metric
    assert "<b>nice</b>" not in page  # raw output is escaped
    assert "src=" not in page
    assert "href=" not in page  # self-contained


def test_report_from_records_alone(tmp_path: Path) -> None:
    base = load_run("base", save_run(tmp_path / "base", [BAD] * 9 + [GOOD])[1])
    tuned = load_run("tuned", save_run(tmp_path / "tuned", [GOOD] * 9 + [BAD])[1])
    assert base.result.metrics.values["tool_name_match"].value == 0.1
    assert tuned.result.metrics.values["arguments_exact_match"].n == 10
    markdown = write_report([base, tuned], tmp_path / "report")["markdown"].read_text()
    assert "| arguments_exact_match | +0.800 | [" in markdown
    assert "McNemar" in markdown
