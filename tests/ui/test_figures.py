"""Figure builders, choices and text helpers of the dashboard (pure functions)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from dash import html

from app.stats import accuracy_histogram, curve_interval, difference_band
from app.ui.choices import clamp_k, default_pair, facet_keys, k_marks
from app.ui.figures import (
    PALETTE,
    contiguous_ranges,
    curves_csv,
    curves_figure,
    difference_figure,
    facet_figure,
    histogram_figure,
    log2_ticks,
    plot_text,
    run_color,
)
from app.ui.text import answer_span, highlighted_text, markdown_source


def _curve(run_id: int, kind: str, c: np.ndarray, n: np.ndarray) -> dict:
    est = curve_interval(c, n, None, bootstrap=200, confidence=0.95, seed=0)
    return {
        "run_id": run_id,
        "model": f"model<{run_id}>",
        "kind": kind,
        "benchmark": "b",
        "problems": len(c),
        "ks": [int(k) for k in est.ks],
        "pass_at_k": [float(v) for v in est.mean],
        "lower": [float(v) for v in est.lower],
        "upper": [float(v) for v in est.upper],
    }


@pytest.fixture
def counts():
    rng = np.random.default_rng(0)
    n = np.full(50, 16)
    return rng.binomial(16, rng.beta(0.6, 0.8, 50)), rng.binomial(16, rng.beta(1.5, 0.7, 50)), n


def test_log2_ticks_and_k_marks():
    assert log2_ticks(1) == [1]
    assert log2_ticks(32) == [1, 2, 4, 8, 16, 32]
    assert log2_ticks(100) == [1, 2, 4, 8, 16, 32, 64, 100]
    assert log2_ticks(0) == []
    assert k_marks(12) == [1, 2, 4, 8, 12]


def test_contiguous_ranges():
    assert contiguous_ranges([1, 2, 3, 4, 5, 6], [1, 2, 5]) == [(1, 2), (5, 5)]
    assert contiguous_ranges([1, 2, 3], []) == []
    assert contiguous_ranges([1, 2, 4, 8], [2, 4, 8]) == [(2, 8)]


def test_run_colours_are_stable_and_distinct():
    assert run_color(1) == run_color(1 + len(PALETTE))
    assert len({run_color(i) for i in range(1, len(PALETTE) + 1)}) == len(PALETTE)


def test_curves_figure_has_log2_axis_bands_and_escaped_labels(counts):
    ca, cb, n = counts
    runs = [_curve(1, "base", ca, n), _curve(2, "rl", cb, n)]
    fig = curves_figure(runs, confidence=0.95)
    assert fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 4, 8, 16]
    lines = [t for t in fig.data if t.hovertemplate]
    assert len(lines) == 2
    assert [t.line.color for t in lines] == [run_color(1), run_color(2)]
    assert "model&lt;1&gt;" in lines[0].name and "<1>" not in lines[0].name
    assert "95% CI" in lines[0].hovertemplate
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 2
    assert list(lines[0].y) == runs[0]["pass_at_k"]
    assert [row[0] for row in lines[0].customdata] == runs[0]["lower"]


def test_curves_figure_without_bands(counts):
    ca, _, n = counts
    run = {**_curve(3, "base", ca, n), "lower": None, "upper": None}
    fig = curves_figure([run], confidence=None)
    assert len(fig.data) == 1 and fig.data[0].customdata is None


def test_difference_figure_shades_the_decided_ranges(counts):
    ca, cb, n = counts
    band = difference_band(ca, n, cb, n, bootstrap=500, seed=0).to_dict()
    diff = {**band, "alpha": 0.05}
    fig = difference_figure(diff, a_label="A", b_label="B<x>")
    shaded = [t for t in fig.data if t.fill == "toself"]
    expected = sum(
        len(contiguous_ranges(band["ks"], band[f])) for f in ("b_better", "b_worse", "undetermined")
    )
    assert len(shaded) == expected > 0
    assert any("95% simultaneous band" in (t.name or "") for t in fig.data)
    assert "B&lt;x&gt;" in fig.layout.title.text
    # the shaded ranges together cover the whole k axis
    covered = sorted((t.x[0], t.x[2]) for t in shaded)
    assert covered[0][0] == 1 and covered[-1][1] == max(band["ks"])


def test_facet_and_histogram_figures(counts):
    ca, cb, n = counts
    facets = {
        "Level 1": [_curve(1, "base", ca[:20], n[:20])],
        "Level 2": [_curve(1, "base", ca[20:], n[20:])],
    }
    fig = facet_figure(facets, facet_key="level")
    assert len(fig.data) == 2
    assert sum(bool(t.showlegend) for t in fig.data) == 1
    assert "level = Level 1  (20 problems)" in [a.text for a in fig.layout.annotations]
    ha, hb = accuracy_histogram(ca, n), accuracy_histogram(cb, n)
    fig = histogram_figure(
        ha["labels"],
        [({"run_id": 1, "model": "m", "kind": "base"}, ha), ({"run_id": 2, "model": "m", "kind": "rl"}, hb)],
    )
    assert [list(t.customdata) for t in fig.data] == [ha["counts"], hb["counts"]]
    assert fig.layout.barmode == "group"


def test_curves_csv(counts):
    ca, _, n = counts
    run = _curve(1, "base", ca, n)
    rows = list(csv.DictReader(io.StringIO(curves_csv([run]))))
    assert len(rows) == 16
    assert rows[0]["k"] == "1" and float(rows[0]["pass_at_k"]) == pytest.approx(run["pass_at_k"][0], abs=1e-6)
    assert float(rows[-1]["upper"]) == pytest.approx(run["upper"][-1], abs=1e-6)


def test_default_pair_prefers_a_base_run_as_a():
    runs = [{"id": 5, "kind": "rl"}, {"id": 3, "kind": "base"}, {"id": 9, "kind": "sft"}]
    assert default_pair(runs, None, None) == (3, 5)
    assert default_pair(runs, 9, 5) == (9, 5)
    assert default_pair(runs, 5, 5) == (5, 3)
    assert default_pair(runs, 42, None) == (3, 5)
    assert default_pair([{"id": 1, "kind": "rl"}], None, None) == (1, None)
    assert default_pair([], None, None) == (None, None)


def test_clamp_k_and_facet_keys():
    assert clamp_k(None, 32) == 32
    assert clamp_k(None, 32, default=8) == 8
    assert clamp_k(100, 32) == 32
    assert clamp_k(0, 32) == 1
    assert facet_keys({"subject": ["a", "b"], "source": ["x"], "id": [str(i) for i in range(50)]}) == [
        "subject"
    ]


def test_plot_text_escapes_markup():
    assert plot_text("<b onmouseover=x>") == "&lt;b onmouseover=x&gt;"


def test_highlighted_text_marks_the_last_answer_and_keeps_everything_text():
    parts = highlighted_text("x = 3, so 3 and then <b>3</b>", "3")
    assert parts[0] == "x = 3, so 3 and then <b>"
    assert isinstance(parts[1], html.Mark) and parts[1].children == "3"
    assert parts[2] == "</b>"
    assert highlighted_text("no answer here", "7") == ["no answer here"]
    assert highlighted_text("abc", None) == ["abc"]
    assert answer_span("the answer is 42 ", " 42 ") == (13, 17)
    assert answer_span("the answer is 42.", " 42 ") == (14, 16)
    assert markdown_source("") == "*(empty trace)*"
    assert markdown_source("a" * 300_000).endswith("whole trace)*")
    # a Markdown image in model output stays text: nothing is fetched from the URL it names
    assert markdown_source("see ![x](https://evil.example/t.png) and ![y][ref]") == (
        "see !\\[x](https://evil.example/t.png) and !\\[y][ref]"
    )
