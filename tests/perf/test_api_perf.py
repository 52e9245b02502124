"""API latency on a store of 1,024,000 samples (4 runs x 1,000 problems x 256), SQLite and PostgreSQL.

Prints p50/p95 over repeated requests for curves, compare, a problem's sample page, a deep sample page and
the runs list, with the SQL statements each request made, beside naive baselines (the curve computed by
reading every sample of the runs; the deep page by a plain ORDER BY ... OFFSET). Asserts results, not times.
Run: `python -m pytest tests/perf/test_api_perf.py --perf -s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.models import Problem, Sample, Verdict
from app.server import create_app
from app.stats import pass_at_k_curve
from tests.perf.bigstore import build_big_store

pytestmark = [pytest.mark.perf, pytest.mark.slow]

REPEATS = 30
BASELINE_REPEATS = 3
API = "/api/v1"


def _percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def _measure(
    call: Callable[[int], object], repeats: int, counter: list[int]
) -> tuple[float, float, set[int]]:
    """p50/p95 (ms) of `call(i)` and the set of statement counts one call made."""
    times, statements = [], set()
    call(0)  # warm caches and the connection pool
    for i in range(repeats):
        counter[0] = 0
        began = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - began)
        statements.add(counter[0])
    p50, p95 = _percentiles(times)
    return p50, p95, statements


def _naive_curve(session: Session, run_ids: list[int]) -> list[np.ndarray]:
    """The baseline: read every sample's (problem, verdict) of the runs and count in Python."""
    out = []
    for run_id in run_ids:
        correct: dict[int, int] = {}
        total: dict[int, int] = {}
        for problem_id, verdict in session.execute(
            select(Sample.problem_id, Sample.verdict).where(Sample.run_id == run_id)
        ):
            if verdict is Verdict.ungraded:
                continue
            total[problem_id] = total.get(problem_id, 0) + 1
            correct[problem_id] = correct.get(problem_id, 0) + (verdict is Verdict.correct)
        ids = sorted(total)
        out.append(pass_at_k_curve([correct[i] for i in ids], [total[i] for i in ids])[1])
    return out


def _naive_deep_page(session: Session, run_id: int, offset: int) -> list[int]:
    """The baseline for a deep page: ORDER BY (position, idx) with OFFSET over the run's samples."""
    return list(
        session.scalars(
            select(Sample.id)
            .join(Problem, Problem.id == Sample.problem_id)
            .where(Sample.run_id == run_id)
            .order_by(Problem.position, Sample.idx)
            .offset(offset)
            .limit(50)
        )
    )


def test_api_latency_on_a_million_samples(database_url: str) -> None:
    backend = database_url.split(":", 1)[0].split("+")[0]
    store = build_big_store(database_url)
    print(f"\n[{backend}] built {store.samples:,} samples in {store.seconds:.1f} s")
    engine = make_engine(database_url)
    counter = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args) -> None:
        counter[0] += 1

    sessions = make_session_factory(engine)
    app = create_app(Settings(_env_file=None, database_url=database_url), sessions, dashboard=False)
    a, b = store.base_run_ids[0], store.rl_run_ids[0]
    rows: list[tuple[str, float, float, set[int]]] = []
    with TestClient(app) as client:

        def get(path: str, params) -> dict:
            response = client.get(f"{API}{path}", params=params)
            assert response.status_code == 200, response.text
            return response.json()

        curves = get("/curves", [("runs", a), ("runs", b)])
        assert [len(c["ks"]) for c in curves["runs"]] == [256, 256]
        cmp = get("/compare", {"a": a, "b": b, "k": 256})
        assert cmp["problems_compared"] == 1000 and cmp["difference"]["ks"][-1] == 256
        problems = store.problem_ids
        page = get("/samples", {"run": a, "problem": problems[500], "limit": 50})
        assert page["total"] == 256 and [s["idx"] for s in page["items"]] == list(range(50))
        deep_offset = 500 * 256 + 7
        deep = get("/samples", {"run": a, "offset": deep_offset, "limit": 50})
        assert deep["total"] == 256_000 and deep["items"][0]["problem_id"] == problems[500]
        assert deep["items"][0]["idx"] == 7
        assert get("/runs", {})["total"] == 4

        measurements = {
            "curves (2 runs, k=1..256)": lambda i: get("/curves", [("runs", a), ("runs", b)]),
            "compare (k=256, band)": lambda i: get("/compare", {"a": a, "b": b, "k": 256, "seed": i}),
            "sample page (run+problem)": lambda i: get(
                "/samples", {"run": a, "problem": problems[(i * 37) % len(problems)], "limit": 50}
            ),
            "sample page (run, deep offset)": lambda i: get(
                "/samples", {"run": a, "offset": ((i * 7919) % 5000) * 50, "limit": 50}
            ),
            "runs list": lambda i: get("/runs", {}),
            "problem page (with counts)": lambda i: get(
                f"/benchmarks/{store.benchmark_id}/problems", {"offset": (i * 50) % 1000, "limit": 50}
            ),
            "answer clusters (1 problem)": lambda i: get(
                f"/problems/{problems[(i * 13) % 1000]}/answers", {}
            ),
        }
        for name, call in measurements.items():
            repeats = 10 if name.startswith("compare") else REPEATS
            rows.append((name, *_measure(call, repeats, counter)))

    with sessions() as session:
        naive = _naive_curve(session, [a, b])
        np.testing.assert_allclose(naive[0], curves["runs"][0]["pass_at_k"])
        base_curve = _measure(lambda i: _naive_curve(session, [a, b]), BASELINE_REPEATS, counter)
        expected = _naive_deep_page(session, a, deep_offset)
        assert expected == [s["id"] for s in deep["items"]]
        base_deep = _measure(
            lambda i: _naive_deep_page(session, a, ((i * 7919) % 5000) * 50), BASELINE_REPEATS * 3, counter
        )
    engine.dispose()

    print(f"[{backend}] {'request':34} {'p50 ms':>9} {'p95 ms':>9}  SQL statements per request")
    for name, p50, p95, statements in rows:
        print(f"[{backend}] {name:34} {p50:9.1f} {p95:9.1f}  {sorted(statements)}")
    curve_p50 = next(r[1] for r in rows if r[0].startswith("curves"))
    deep_p50 = next(r[1] for r in rows if r[0].startswith("sample page (run, deep"))
    print(
        f"[{backend}] baseline: curve from every sample {base_curve[0]:9.1f} {base_curve[1]:9.1f}  "
        f"{sorted(base_curve[2])}  -> API is {base_curve[0] / curve_p50:.0f}x faster (p50)"
    )
    print(
        f"[{backend}] baseline: deep page by OFFSET     {base_deep[0]:9.1f} {base_deep[1]:9.1f}  "
        f"{sorted(base_deep[2])}  -> API is {base_deep[0] / deep_p50:.1f}x faster (p50)"
    )
