"""A BFCL irrelevance evaluation end to end: rows from the bfcl-eval wheel, the real model, a report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slmswap.data import load_bfcl_wheel
from slmswap.evaluation import TransformersBackend, evaluate_into, write_report
from slmswap.formats import get_format

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@pytest.mark.slow
def test_irrelevance_rows_are_scored_and_reported(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, bfcl_wheel: Path, tmp_path: Path
) -> None:
    rows = list(load_bfcl_wheel(bfcl_wheel, "irrelevance")[:3]) + list(load_bfcl_wheel(bfcl_wheel, "simple_python")[:1])
    generator = TransformersBackend(model, tokenizer, batch_size=4, max_new_tokens=24)
    run = evaluate_into(tmp_path / "bfcl", rows, generator.generate, tokenizer, get_format("hermes"))
    metrics = run.result.metrics
    assert run.result.examples == 4  # none skipped: irrelevance rows have a target (no call)
    called = [bool(record.prediction and record.prediction.tool_calls) for record in run.records]
    # abstention and BFCL's verdict on the irrelevance rows: passing exactly where the model made no call
    assert metrics.scores["abstention"][:3] == [float(not c) for c in called[:3]]
    assert metrics.scores["bfcl_ast_match"][:3] == [float(not c) for c in called[:3]]
    assert metrics.scores["exact_match"][:3] == [None] * 3  # the target's text is a placeholder
    assert set(metrics.by_category) == {"irrelevance", "simple_python"}
    assert metrics.by_category["irrelevance"]["abstention"].n == 3
    assert "abstention" not in metrics.by_category["simple_python"]
    markdown = write_report([run], tmp_path / "report")["markdown"].read_text()
    assert "| abstention | " in markdown
    assert "### By BFCL category" in markdown
    assert "| irrelevance | 3 | " in markdown
