"""The dashboard's read models (app/services/views.py) on a seeded store, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import InvalidInputError
from app.services import browse, views
from app.services.runs import run_counts
from app.stats import accuracy_histogram, pass_at_k_curve
from tests.ui.seed import NEITHER, ONLY_BASE, ONLY_RL, PROBLEMS, SUBJECTS, Seeded, key, seed_store


@pytest.fixture
def seeded(sessions: sessionmaker[Session], tmp_path: Path) -> Seeded:
    return seed_store(sessions, tmp_path)


def test_run_overview_numbers_match_the_counts(sessions, seeded):
    with sessions() as session:
        rows = {r.id: r for r in views.run_overview(session=session)}
        assert list(rows) == [seeded.live_run, seeded.rl_run, seeded.base_run]  # newest first
        for run_id in (seeded.base_run, seeded.rl_run):
            counts = run_counts(session=session, run_id=run_id)
            row = rows[run_id]
            assert row.problems == PROBLEMS and row.n == 32 and row.status == "done"
            assert row.pass_at_1 == pytest.approx(float(np.mean(counts.correct / counts.n)))
            assert row.pass_at_n == pytest.approx(float(np.mean(counts.correct > 0)))
        live = rows[seeded.live_run]
        assert live.status == "running" and live.kind == "instruct" and live.base_model == rows[1].model
        assert 0 < live.samples_done < live.samples_total == 8 * PROBLEMS
        assert views.run_overview(session=session, benchmark="nope") == []


def test_coverage_summary_counts_tiles_and_filters(sessions, seeded):
    with sessions() as session:
        out = views.coverage_summary(session=session, a=seeded.base_run, b=seeded.rl_run, k=32)
        assert out["counts"]["only_a"] == len(ONLY_BASE)
        assert out["counts"]["only_b"] == len(ONLY_RL)
        assert out["counts"]["neither"] == len(NEITHER)
        assert sum(out["counts"].values()) == out["problems"] == PROBLEMS
        counts = run_counts(session=session, run_id=seeded.base_run)
        assert out["histograms"]["a"] == accuracy_histogram(counts.correct, counts.n)
        # A filter keeps the problems of one subject, and the tiles agree with the problem listing.
        algebra = views.coverage_summary(
            session=session, a=seeded.base_run, b=seeded.rl_run, k=32, meta={"subject": SUBJECTS[0]}
        )
        assert algebra["problems"] == PROBLEMS // 4
        for which, count in algebra["counts"].items():
            page = browse.list_problems(
                session=session,
                benchmark_id=seeded.benchmark_id,
                meta={"subject": SUBJECTS[0]},
                coverage=browse.CoverageFilter(a=seeded.base_run, b=seeded.rl_run, k=32, which=which),
            )
            assert page.total == count
        assert algebra["counts"]["only_a"] == 1  # position 0 is Algebra and base-only
        nothing = views.coverage_summary(
            session=session, a=seeded.base_run, b=seeded.rl_run, k=1, meta={"subject": "Astrology"}
        )
        assert nothing["problems"] == 0 and nothing["histograms"] is None
        with pytest.raises(InvalidInputError, match="k"):
            views.coverage_summary(session=session, a=seeded.base_run, b=seeded.rl_run, k=33)


def test_faceted_curves_split_by_metadata(sessions, seeded):
    with sessions() as session:
        facets = views.faceted_curves(
            session=session, run_ids=[seeded.base_run, seeded.rl_run], facet="level"
        )
        assert list(facets) == [f"Level {i}" for i in range(1, 6)]
        counts = run_counts(session=session, run_id=seeded.base_run)
        level1 = [i for i in range(PROBLEMS) if i % 5 == 0]
        positions = [counts.keys.index(key(i)) for i in level1]
        _, expected = pass_at_k_curve(counts.correct[positions], counts.n[positions], None)
        entry = next(e for e in facets["Level 1"] if e["run_id"] == seeded.base_run)
        assert entry["problems"] == len(level1)
        assert entry["pass_at_k"] == pytest.approx(list(expected))
        assert views.faceted_curves(session=session, run_ids=[seeded.base_run], facet="nothing") == {}
        with pytest.raises(InvalidInputError):
            views.faceted_curves(session=session, run_ids=[], facet="level")
