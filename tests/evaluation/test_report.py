"""Reports, built from the files a run leaves behind (no model needed)."""

from __future__ import annotations

from pathlib import Path

from slmswap._files import write_atomically
from slmswap.evaluation import EvaluationResult, load_run, read_records, write_report
from slmswap.evaluation.html_report import output_diff
from slmswap.evaluation.report import significance
from slmswap.evaluation.runner import EvalRecord
from slmswap.formats import get_format
from slmswap.metrics import (
    Comparison,
    MetricsReport,
    ScoredExample,
    default_metrics,
    issues,
    require_better,
    score_examples,
)
from slmswap.schema import Message, ToolCall
from slmswap.trained.history import read_history

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


def test_significant_names_its_tests_and_means_one_thing() -> None:
    def row(low: float, high: float, p_value: float | None) -> Comparison:
        return Comparison(metric="m", n=40, a=1.0, b=0.875, difference=-0.125, relative=-0.125, low=low, high=high,
                          p_value=p_value)  # fmt: skip

    # the demo's valid_output: an interval clear of zero, but McNemar p = 0.0625 -> not significant, and said why
    split = row(-0.225, -0.025, 0.0625)
    assert not split.significant
    assert significance(split) == "no: the interval excludes 0, McNemar does not (p = 0.062)"
    assert significance(row(0.1, 0.4, 0.002)) == "yes (interval and McNemar)"
    assert significance(row(0.1, 0.4, None)) == "yes (interval)"
    assert significance(row(-0.1, 0.4, 0.03)) == "no: McNemar p < 0.05, but the interval reaches 0"
    assert significance(row(-0.1, 0.4, 0.5)) == "no"
    verdict = require_better(*_reports(), metric="valid_output")
    assert (verdict.comparison.p_value, verdict.better) == (0.0625, False)


def _reports() -> tuple[MetricsReport, MetricsReport]:
    """Two reports whose valid_output differs on 4 of 40 examples, all one way (McNemar p = 0.125)."""
    examples = [ScoredExample(reference=REFERENCE, prediction=FMT.parse(GOOD)) for _ in range(40)]
    a = score_examples(examples, ids=[str(k) for k in range(40)])
    worse = examples[:35] + [ScoredExample(reference=REFERENCE, prediction=FMT.parse("<tool_call>{")) for _ in range(5)]
    b = score_examples(worse, ids=[str(k) for k in range(40)])
    return a, b


def test_the_html_report_is_a_page_not_a_text_file(tmp_path: Path) -> None:
    base = load_run("base", *reversed(save_run(tmp_path / "base", [BAD] * 9 + [GOOD])))
    tuned = load_run("tuned", *reversed(save_run(tmp_path / "tuned", [GOOD] * 9 + [BAD])))
    history = tmp_path / "history.jsonl"
    history.write_text(
        "".join(f'{{"step": {s}, "epoch": 0.1, "loss": {2.0 / s}}}\n' for s in range(1, 7))
        + "".join(f'{{"step": {s}, "eval_exact_match": {s / 6}}}\n' for s in range(1, 7)),
        encoding="utf-8",
    )
    paths = write_report([base, tuned], tmp_path / "report", history=read_history(history))
    page = paths["html"].read_text(encoding="utf-8")
    assert "<pre>#" not in page  # no Markdown in a grey box
    assert "|---|" not in page
    assert page.count("<table>") == 6  # metrics, paired, parse outcomes, issues, each run's by-tool breakdown
    assert "<h2>Where it fails: tuned</h2><h3>By tool</h3>" in page
    assert '<th scope="col">McNemar p</th>' in page or "<th class=num>McNemar p</th>" in page
    assert "prefers-color-scheme:dark" in page
    assert "Training loss" in page
    assert page.count('<circle class="series-0"') == 12  # 6 loss points, 6 exact_match points
    for marker in ('class="chart-title"', 'class="axis-label x-label"', 'class="axis-label y-label"'):
        assert page.count(marker) == 3  # the metrics chart and two curves
    assert "script" not in page.lower()
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "## Training" in markdown
    assert "| 6 | 0.3333 | 1 |" in markdown
    assert "## Where it fails: base" in markdown
    assert "Issue kinds (examples showing each): missing_fields: 9, no_call: 9" in markdown


def test_raw_output_is_diffed_against_the_reference() -> None:
    diff = output_diff('{"city": "Paris"}', '{"city": "Lyon", "x": 1}')
    assert "<del>Paris</del><ins>Lyon</ins>" in diff
    assert "<ins>, </ins>" in diff or "<ins>, &quot;x&quot;: 1</ins>" in diff or "&quot;x&quot;" in diff
    assert output_diff("a <b>", "a <b>") == "a &lt;b&gt;"  # text, escaped
