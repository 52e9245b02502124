"""The dashboard in Debian's Chromium (Playwright) against a seeded store served by `coverscope serve`.

Covers the acceptance of the dashboard: every page loads without console errors; runs are chosen and k
changed; a problem is opened from "only A", a trace from it, annotated; links copied and opened in a
fresh browser context show the same view; hostile model output stays inert.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import make_engine, make_session_factory
from app.core.schema import upgrade
from app.models import Annotation
from tests.browser import served, watch_console
from tests.ui.seed import HOSTILE_ANSWER, ONLY_BASE, Seeded, key, seed_store

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
TIMEOUT = 20_000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded, object]]:
    """A seeded SQLite store: its URL, what was seeded, and a session factory on it."""
    folder = tmp_path_factory.mktemp("ui-store")
    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    seeded = seed_store(sessions, folder)
    yield url, seeded, sessions
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(store) -> Iterator[str]:
    with served(store[0]) as url:
        yield url


@pytest.fixture
def page(browser, base_url):
    """A page in a fresh context (clipboard allowed) whose console errors are collected in page.errors."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 960}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.errors = watch_console(page)
    page.base = base_url
    yield page
    context.close()


def _plotted(page, graph_id: str) -> None:
    page.wait_for_selector(
        f"#{graph_id} .scatterlayer .trace, #{graph_id} .barlayer .trace", state="attached"
    )


def _query(page) -> str:
    return page.url.split("?", 1)[1] if "?" in page.url else ""


def test_every_page_loads_without_console_errors(page, store):
    _, seeded, _ = store
    visits = [
        ("/", "#runs-grid .ag-row"),
        ("/curves", "#curves-graph .scatterlayer .trace"),
        (f"/coverage?a={seeded.base_run}&b={seeded.rl_run}", ".coverage-tile"),
        ("/problem", "#problem-pick"),
        (f"/problem?id={seeded.problem_ids[key(5)]}", "#problem-statement"),
        ("/trace", "text=Open one from a problem"),
        (f"/trace?sample={seeded.hostile_sample + 3}", "#trace-text-a"),
    ]
    for path, ready in visits:
        page.goto(page.base + path)
        page.wait_for_selector(ready, state="attached")
        page.wait_for_load_state("networkidle")
        assert page.errors == [], (path, page.errors)
    for path, message in [
        ("/problem?id=987654", "problem 987654 not found"),
        ("/trace?sample=987654", "sample 987654 not found"),
        ("/coverage?a=987654", "run 987654 not found"),
        ("/curves?runs=987654", "run 987654 not found"),
    ]:
        page.goto(page.base + path)
        page.get_by_text(message).wait_for()
    assert page.errors == []


def test_choose_runs_then_plot_then_change_k(page, store):
    _, seeded, _ = store
    page.goto(page.base + "/")
    for run in (seeded.base_run, seeded.rl_run):
        page.locator(f'#runs-grid .ag-row[row-id="{run}"] .ag-selection-checkbox input').check()
    page.wait_for_url(re.compile(r"runs=\d+,\d+"))
    assert sorted(int(x) for x in re.search(r"runs=([\d,]+)", page.url).group(1).split(",")) == [
        seeded.base_run,
        seeded.rl_run,
    ]
    compare = page.locator("#runs-compare")
    assert compare.get_attribute("href") == f"/coverage?a={seeded.base_run}&b={seeded.rl_run}"
    page.locator("#runs-plot").click()
    page.wait_for_url(re.compile(r"/curves\?"))
    _plotted(page, "curves-graph")
    page.wait_for_selector("#curves-diff-graph .scatterlayer .trace", state="attached")
    legend = page.locator("#curves-graph .legend").text_content()
    assert "Qwen/Qwen2.5-Mini (base)" in legend and "SimpleRL-Zoo (rl)" in legend
    assert (
        "simultaneous band"
        in page.locator("#curves-diff-graph .main-svg").first.text_content()
        + page.locator("#curves-diff-graph").text_content()
    )
    assert page.locator("#curves-table-at-k th", has_text="pass@8").count() == 1
    page.fill("#curves-k", "4")
    page.press("#curves-k", "Enter")
    page.locator("#curves-table-at-k th", has_text="pass@4").wait_for()
    page.wait_for_url(re.compile(r"[?&]k=4(&|$)"))
    # facets by level: one small multiple per level
    page.locator("#curves-facet").click()
    page.get_by_role("option", name="level").click()
    page.wait_for_selector("#curves-facet-graph .scatterlayer .trace", state="attached")
    assert "level = Level 1" in page.locator("#curves-facet-graph").text_content()
    page.wait_for_url(re.compile(r"facet=level"))
    page.wait_for_load_state("networkidle")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "curves.png"), full_page=True)
    # CSV download of the plotted curves
    with page.expect_download() as download:
        page.locator("#curves-csv").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0] == "run_id,model,kind,benchmark,k,pass_at_k,lower,upper"
    assert len(text.splitlines()) == 1 + 2 * 32
    assert page.errors == []


def test_only_a_to_problem_to_trace_and_annotate(page, store):
    _, seeded, sessions = store
    page.goto(page.base + f"/coverage?a={seeded.base_run}&b={seeded.rl_run}&k=32")
    tile = page.locator('.coverage-tile[data-which="only_a"]')
    tile.click()
    page.wait_for_url(re.compile(r"tile=only_a"))
    rows = page.locator("#coverage-grid .ag-center-cols-container .ag-row")
    rows.first.wait_for()
    assert rows.count() == len(ONLY_BASE)
    assert tile.locator(".tile-count").inner_text() == str(len(ONLY_BASE))
    listed = page.locator("#coverage-grid .ag-center-cols-container .ag-cell[col-id='key']").all_inner_texts()
    assert sorted(listed) == sorted(key(i) for i in ONLY_BASE)
    assert "p (Fisher" in page.locator("#coverage-grid").inner_text()
    page.wait_for_selector("#coverage-histogram .barlayer .trace", state="attached")
    page.wait_for_load_state("networkidle")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "coverage.png"), full_page=True)

    target = key(ONLY_BASE[1])
    page.locator("#coverage-grid .ag-cell[col-id='key']", has_text=target).click()
    page.wait_for_url(re.compile(r"/problem\?id=\d+"))
    assert f"id={seeded.problem_ids[target]}" in page.url
    page.get_by_role("heading", name=target).wait_for()
    page.wait_for_selector("#problem-statement mjx-container", state="attached")  # LaTeX typeset
    page.wait_for_selector("#problem-statement pre code", state="attached")  # code block
    runs_table = page.locator("#problem-runs-table").inner_text()
    assert "0.0%" in runs_table and "32" in runs_table
    clusters = page.locator("#problem-clusters")
    assert "✓" in clusters.inner_text()
    # filter the samples: base run, correct only
    page.locator("#problem-verdict").click()
    page.get_by_role("option", name="correct", exact=True).click()
    page.wait_for_url(re.compile(r"verdict=correct"))
    verdicts = page.locator("#problem-samples .ag-center-cols-container .ag-cell[col-id='verdict']")
    verdicts.first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"#problem-samples .ag-cell[col-id='verdict']\")]"
        ".every(e => e.textContent === 'correct')"
    )
    page.locator("#problem-samples .ag-center-cols-container .ag-cell[col-id='preview']").first.click()
    page.wait_for_url(re.compile(r"/trace\?sample=\d+"))
    sample_id = int(re.search(r"sample=(\d+)", page.url).group(1))
    page.locator("#trace-text-a").wait_for()
    assert page.locator("#trace-panel-a .verdict").inner_text() == "correct"

    page.get_by_label("lucky guess").check()
    page.fill("#trace-note", "right number after a wrong derivation")
    page.fill("#trace-author", "tester")
    page.locator("#trace-save").click()
    page.get_by_text("Saved as “lucky guess”.").wait_for()
    assert "right number after a wrong derivation" in page.locator("#trace-annotations").inner_text()
    with sessions() as session:
        stored = session.scalars(select(Annotation).where(Annotation.sample_id == sample_id)).all()
        assert [(a.label.value, a.note, a.author) for a in stored] == [
            ("lucky_guess", "right number after a wrong derivation", "tester")
        ]
    # the annotation is there after a reload too
    page.reload()
    page.locator("#trace-annotations", has_text="right number after a wrong derivation").wait_for()
    assert page.errors == []


def test_keyboard_moves_between_samples(page, store):
    _, seeded, _ = store
    start = seeded.hostile_sample + 5
    page.goto(page.base + f"/trace?sample={start}")
    page.locator("#trace-text-a").wait_for()
    page.keyboard.press("j")
    page.wait_for_url(re.compile(rf"sample={start + 1}(&|$)"))
    page.get_by_role("heading", name=f"Sample {start + 1}").wait_for()
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(rf"sample={start}(&|$)"))
    page.get_by_role("heading", name=f"Sample {start}").wait_for()
    # typing in the note field does not navigate
    page.fill("#trace-note", "jk")
    page.press("#trace-note", "j")
    page.wait_for_timeout(300)
    assert f"sample={start}" in page.url
    assert page.errors == []


def _copy_link(page) -> str:
    """Click "Copy link" and return what landed on the clipboard."""
    page.evaluate("navigator.clipboard.writeText('')")
    page.locator("#copy-link").click()
    page.locator("#copy-link", has_text="Link copied").wait_for()
    for _ in range(50):
        copied = page.evaluate("navigator.clipboard.readText()")
        if copied:
            return copied
        page.wait_for_timeout(100)
    raise AssertionError("nothing was copied")


def test_copied_links_open_the_same_view_in_a_fresh_browser(page, browser, store):
    _, seeded, _ = store
    # Coverage with a filter, a tile and k, set through the controls.
    page.goto(page.base + f"/coverage?a={seeded.base_run}&b={seeded.rl_run}")
    page.locator('.coverage-tile[data-which="both"]').wait_for()
    page.fill("#coverage-k", "16")
    page.press("#coverage-k", "Enter")
    page.wait_for_url(re.compile(r"k=16"))
    page.locator('button[id*="coverage-meta"][id*="subject"]').click()
    page.get_by_role("option", name="Number Theory").click()
    page.wait_for_url(re.compile(r"meta.subject=Number%20Theory"))
    page.locator('.coverage-tile[data-which="neither"]').click()
    page.wait_for_url(re.compile(r"tile=neither"))
    page.wait_for_load_state("networkidle")
    link = _copy_link(page)
    assert link == page.url
    assert "k=16" in link and "tile=neither" in link and "meta.subject=Number%20Theory" in link

    def coverage_view(p) -> dict:
        p.locator(".coverage-tile.active").wait_for()
        p.wait_for_load_state("networkidle")
        # AG Grid renders its rows after the data arrives: wait for as many rows as the tile counts
        shown = min(int(p.locator(".coverage-tile.active .tile-count").inner_text()), 20)
        p.wait_for_function(
            "n => document.querySelectorAll(\"#coverage-grid .ag-cell[col-id='key']\").length === n",
            arg=shown,
        )
        return {
            "tiles": p.locator(".coverage-tile").all_inner_texts(),
            "title": p.locator("#coverage-list-title").inner_text(),
            "keys": sorted(p.locator("#coverage-grid .ag-cell[col-id='key']").all_inner_texts()),
            "k": p.input_value("#coverage-k"),
        }

    original = coverage_view(page)
    assert original["k"] == "16" and "Neither solves at k = 16" in original["title"]

    fresh = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = fresh.new_page()
        other.set_default_timeout(TIMEOUT)
        errors = watch_console(other)
        other.goto(link)
        assert coverage_view(other) == original
        assert other.url == link

        # A trace beside another run's trace, in the raw view.
        page.goto(page.base + f"/trace?sample={seeded.hostile_sample + 2}")
        page.locator("#trace-vs").click()
        page.get_by_role("option").nth(1).click()
        page.wait_for_url(re.compile(r"vs=\d+"))
        page.get_by_label("Raw text").check()
        page.wait_for_url(re.compile(r"view=raw"))
        page.locator("#trace-panel-b pre.trace-raw").wait_for()
        link = _copy_link(page)
        texts = [page.locator("#trace-text-a").inner_text(), page.locator("#trace-text-b").inner_text()]
        other.goto(link)
        other.locator("#trace-panel-b pre.trace-raw").wait_for()
        assert [
            other.locator("#trace-text-a").inner_text(),
            other.locator("#trace-text-b").inner_text(),
        ] == texts
        assert other.locator("#trace-panel-b .answer-mark").count() >= 1
        assert errors == []
    finally:
        fresh.close()
    assert page.errors == []


@pytest.mark.parametrize("view", ["rendered", "raw"])
def test_hostile_trace_stays_inert(page, store, view):
    _, seeded, _ = store
    page.goto(page.base + f"/trace?sample={seeded.hostile_sample}&view={view}")
    trace = page.locator("#trace-text-a")
    trace.wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    text = trace.inner_text()
    assert "<script>window.__pwned = 'script'</script>" in text
    assert "onerror=" in text
    assert trace.locator("script, img, iframe").count() == 0
    assert page.locator("#trace-panel-a img").count() == 0
    for anchor in trace.locator("a").all():
        assert "__pwned" not in (anchor.get_attribute("href") or "")  # the URI sanitiser neutralised it
    assert HOSTILE_ANSWER in page.locator("#trace-panel-a").inner_text()
    # the hostile answer in the problem's answer table and sample list is text as well
    page.goto(page.base + f"/problem?id={seeded.problem_ids[key(0)]}")
    page.locator("#problem-clusters", has_text=HOSTILE_ANSWER).wait_for()
    page.locator("#problem-samples .ag-cell", has_text="onerror").first.wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.errors == []
