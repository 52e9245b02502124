"""Dashboard latency on a store of 1,024,000 samples (4 runs x 1,000 problems x 256), SQLite and PostgreSQL.

Times, in Debian's Chromium, from navigation to the first rendered plot of the curves and coverage pages,
to the rendered trace of one sample, and to the first sample row of a problem, beside the runs page (the
dashboard shell and one grid, the baseline). Prints the figures; asserts what the pages show, not times.
Run: `python -m pytest tests/perf/test_ui_perf.py --perf -s`.
"""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import select

from app.core.db import make_engine, make_session_factory
from app.models import Sample
from tests.browser import chromium, served, watch_console
from tests.perf.bigstore import build_big_store

pytestmark = [pytest.mark.perf, pytest.mark.slow, pytest.mark.browser]

REPEATS = 3
TIMEOUT = 120_000


def _timed(page, url: str, selector: str) -> float:
    """Seconds from navigation to `selector` being attached (a fresh page load each time)."""
    page.goto("about:blank")
    began = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector, state="attached", timeout=TIMEOUT)
    return time.perf_counter() - began


def test_dashboard_latency_on_a_million_samples(database_url: str) -> None:
    backend = database_url.split(":", 1)[0].split("+")[0]
    store = build_big_store(database_url)
    print(f"\n[{backend}] built {store.samples:,} samples in {store.seconds:.1f} s")
    a, b = store.base_run_ids[0], store.rl_run_ids[0]
    problem = store.problem_ids[500]
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        sample = session.scalar(
            select(Sample.id).where(Sample.run_id == a, Sample.problem_id == problem, Sample.idx == 7)
        )
        text = session.scalar(select(Sample.text).where(Sample.id == sample))
    engine.dispose()
    pages = {
        "runs page (baseline: shell + grid)": ("/", "#runs-grid .ag-row"),
        "curves: first plot (2 runs, k=1..256)": (
            f"/curves?runs={a},{b}&a={a}&b={b}",
            "#curves-graph .scatterlayer .trace",
        ),
        "curves: difference band plotted": (
            f"/curves?runs={a},{b}&a={a}&b={b}",
            "#curves-diff-graph .scatterlayer .trace",
        ),
        "coverage: first plot (k=256)": (
            f"/coverage?a={a}&b={b}&k=256",
            "#coverage-histogram .barlayer .trace",
        ),
        "trace: rendered sample": (f"/trace?sample={sample}", "#trace-text-a p"),
        "problem: first sample row": (f"/problem?id={problem}", "#problem-samples .ag-row"),
    }
    rows = []
    with served(database_url) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 960})
        page = context.new_page()
        errors = watch_console(page)
        for name, (path, selector) in pages.items():
            _timed(page, base + path, selector)  # warm: imports, caches, connection pool
            times = [_timed(page, base + path, selector) for _ in range(REPEATS)]
            rows.append((name, statistics.median(times), max(times)))
        # what the pages show is right, not just present
        page.goto(f"{base}/coverage?a={a}&b={b}&k=256")
        page.wait_for_selector(".coverage-tile .tile-count", timeout=TIMEOUT)
        counts = [int(t) for t in page.locator(".coverage-tile .tile-count").all_inner_texts()]
        assert len(counts) == 4 and sum(counts) == 1000
        page.goto(f"{base}/trace?sample={sample}&view=raw")
        page.wait_for_selector("#trace-text-a", timeout=TIMEOUT)
        assert page.locator("#trace-text-a").inner_text().strip() == text.strip()
        assert errors == []
        context.close()
    baseline = rows[0][1]
    print(f"[{backend}] {'navigation -> rendered':40} {'median s':>9} {'max s':>7}  x baseline")
    for name, median, worst in rows:
        print(f"[{backend}] {name:40} {median:9.2f} {worst:7.2f}  {median / baseline:5.1f}x")
