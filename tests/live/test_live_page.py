"""The live verdict's HTML page as a person sees it, in headless Chromium at 1280 px and at a phone's 390 px: it
loads without errors and never scrolls sideways, its tables are tables, each agreement figure has a chart with
its title, axis labels and confidence band, the bar is drawn across the bar's figure, and at 1280 px nothing is
wider than the window."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slmswap.live import live_html, live_verdict
from tests.browser import find_chromium, look_at
from tests.live.pairs import planted

ROOT = Path(__file__).resolve().parents[2]


def test_the_live_page_reads_in_a_browser(tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH: tests/run.sh installs Debian's chromium where apt-get can")
    report = live_verdict(planted(0.95, 3000, seed=3), bar="arguments_exact_match>=0.90")
    page = tmp_path / "live.html"
    page.write_text(live_html(report))
    artifacts = Path(os.environ.get("SLMSWAP_ARTIFACTS", ROOT / ".artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        seen = look_at(page, width=width)
        (artifacts / f"live-verdict-{width}.png").write_bytes(seen.screenshot)
        facts = seen.facts
        assert seen.errors == []
        assert facts["scrollWidth"] <= facts["width"], "the page scrolls sideways"
        if width >= 1280:  # on a phone a wide table scrolls inside its own box; the page does not (above)
            assert facts["wide"] == [], "elements wider than the window"
        headers = [table["headers"] for table in facts["tables"]]
        assert ["figure", "pairs", "agreement", "95 % confidence sequence"] in headers
        assert ["model", "answered", "p50 latency", "p95 latency", "prompt tokens", "completion tokens"] in headers
        assert all(table["rows"] > 0 for table in facts["tables"])
        charts = facts["charts"]
        assert len(charts) == len(report.agreement.overall)
        figure = report.agreement.overall["arguments_exact_match"]
        assert (
            charts[0]["title"] == f"arguments_exact_match: {figure.value:.3f} [{figure.lower:.3f}, {figure.upper:.3f}]"
        )
        for chart in charts:
            assert chart["a11y"] == chart["title"], chart
            assert (chart["x"], chart["y"]) == ("paired requests", "agreement with the LLM")
            if width >= 1280:  # a phone shrinks the charts to its width
                assert chart["fontPx"] >= 11, f"{chart['title']}: text too small to read"
    html = page.read_text()
    assert html.count('<line class="threshold"') == 1  # the bar, across its own figure only
    assert html.count('<polygon class="band') == len(report.agreement.overall)
    assert "cut over" in html
