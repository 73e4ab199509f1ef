"""The demo's HTML report as a person sees it, in headless Chromium at 1280 px: it loads without errors, its
tables are tables, every chart has its title and axis labels, nothing is wider than the window. The screenshot
is kept as a test artifact (``$SLMSWAP_ARTIFACTS``, default ``.artifacts/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import find_chromium, look_at

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_report_reads_in_a_browser(quick_demo: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH: tests/run.sh installs Debian's chromium where apt-get can")
    seen = look_at(quick_demo / "report" / "report.html", width=1280)
    artifacts = Path(os.environ.get("SLMSWAP_ARTIFACTS", ROOT / ".artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "demo-report-1280.png").write_bytes(seen.screenshot)
    facts = seen.facts

    assert seen.errors == []
    assert facts["scrollWidth"] <= facts["width"], "the page scrolls sideways"
    assert facts["wide"] == [], "elements wider than the window"

    headers = [table["headers"] for table in facts["tables"]]
    assert ["metric", "base", "tuned"] in headers
    assert ["metric", "difference", "95 % interval", "relative", "McNemar p", "significant"] in headers
    assert all(table["rows"] > 0 for table in facts["tables"])
    assert facts["pipeTables"] == 0  # no Markdown table left as text

    charts = facts["charts"]
    titles = [chart["title"] for chart in charts]
    assert "Held-out metrics per run (95 % bootstrap intervals)" in titles
    assert "Training loss" in titles
    assert "Held-out arguments_exact_match while training" in titles
    for chart in charts:
        assert chart["title"], chart
        assert chart["a11y"] == chart["title"], chart
        assert chart["x"], f"{chart['title']}: no x-axis label"
        assert chart["y"], f"{chart['title']}: no y-axis label"
        assert chart["fontPx"] >= 11, f"{chart['title']}: text too small to read"
    curves = {chart["y"]: chart for chart in charts if chart["x"] == "optimizer step"}
    assert curves["loss"]["points"] >= 3
    assert curves["arguments_exact_match"]["points"] == 3  # --quick: the base, one scoring while training, tuned
    # a metric without a value at some scoring (call_precision where no call is made) has fewer points
    assert all(chart["points"] >= 2 for chart in curves.values())
