"""The README's first command as a newcomer runs it: `coverscope demo` on the embedded store, offline,
then the curves, the coverage tiles and a trace in a real browser (and the README's screenshots)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.browser import served, watch_console
from tests.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGES = REPO / "docs" / "images"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
TIMEOUT = 60_000

CURVE_TRACES = """() => document.querySelector('#curves-graph .js-plotly-plot').data
    .filter(t => t.showlegend !== false && t.fill === undefined)
    .map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))"""


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_readme_first_command_serves_the_demo(browser, tmp_path: Path) -> None:
    """Curves that cross or diverge, non-empty coverage tiles, a rendered trace; no console errors."""
    readme = (REPO / "README.md").read_text()
    assert "pip install -e . && coverscope demo" in readme, "the README's first command changed"

    with served(None, args=("demo",), cwd=tmp_path, env=OFFLINE) as base:
        assert (tmp_path / "coverscope.db").exists(), "the demo is not in the embedded default store"
        runs = _get(f"{base}/api/v1/runs")["items"]
        assert len(runs) == 2
        by_kind = {run["kind"]: run for run in runs}
        a, b = by_kind["base"]["id"], by_kind["rl"]["id"]
        api_curves = {c["run_id"]: c for c in _get(f"{base}/api/v1/curves?runs={a}&runs={b}")["runs"]}

        context = browser.new_context(viewport={"width": 1440, "height": 960})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        errors = watch_console(page)

        # Curves: two real curves, as the store computes them, that cross or diverge.
        page.goto(f"{base}/curves?runs={a},{b}&a={a}&b={b}")
        page.wait_for_selector("#curves-graph .scatterlayer .trace", state="attached")
        page.wait_for_selector("#curves-diff-graph .scatterlayer .trace", state="attached")
        page.wait_for_load_state("networkidle")
        traces = page.evaluate(CURVE_TRACES)
        assert len(traces) == 2, [t["name"] for t in traces]
        plotted = {}
        for trace in traces:
            run_id = int(re.match(r"#(\d+)", trace["name"]).group(1))
            expected = api_curves[run_id]
            assert trace["x"] == expected["ks"]
            assert trace["y"] == pytest.approx(expected["pass_at_k"], abs=1e-12)
            plotted[run_id] = trace["y"]
        gaps = [yb - ya for ya, yb in zip(plotted[a], plotted[b], strict=True)]
        crosses = min(gaps) < 0 < max(gaps)
        gap_changes = max(abs(g) for g in gaps) - min(abs(g) for g in gaps) > 0.02
        assert crosses or gap_changes, gaps
        page.screenshot(path=str(IMAGES / "demo-curves.png"), full_page=True)

        # Coverage at k = n: every tile counts problems, and both "only" tiles are non-empty.
        n = api_curves[a]["ks"][-1]
        page.goto(f"{base}/coverage?a={a}&b={b}&k={n}&tile=only_a")
        counts = {}
        for which in ("both", "only_a", "only_b", "neither"):
            tile = page.locator(f'.coverage-tile[data-which="{which}"] .tile-count')
            tile.wait_for()
            counts[which] = int(tile.inner_text())
        compare = _get(f"{base}/api/v1/compare?a={a}&b={b}&k={n}")
        assert counts == {which: len(compare[which]) for which in counts}
        assert counts["only_a"] > 0 and counts["only_b"] > 0
        assert sum(counts.values()) == 200
        page.wait_for_selector("#coverage-histogram .barlayer .trace", state="attached")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(IMAGES / "demo-coverage.png"), full_page=True)

        # A trace: a correct base sample rendered, with its extracted answer marked.
        sample_id = _get(f"{base}/api/v1/samples?run={a}&verdict=correct&limit=1")["items"][0]["id"]
        sample = _get(f"{base}/api/v1/samples/{sample_id}")
        page.goto(f"{base}/trace?sample={sample_id}&view=raw")
        raw = page.locator("#trace-text-a")
        raw.wait_for()
        assert sample["text"].strip()[:40] in raw.inner_text()
        assert page.locator("#trace-text-a mark.answer-mark").inner_text().strip() == sample["answer"].strip()
        page.goto(f"{base}/trace?sample={sample_id}")
        page.locator("#trace-panel-a").wait_for()
        page.wait_for_load_state("networkidle")
        assert sample["answer"].strip() in page.locator("#trace-panel-a").inner_text()
        context.close()
        assert errors == []
