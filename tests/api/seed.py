"""A small, fully known store for the browse-service and API tests.

Benchmark "toy" has six problems p0..p5 (subject Algebra/Geometry, level "Level 2"/"Level 10"/"Level 1").
Run A (model base-m, kind base) and run B (rl-m, kind rl, trained from base-m) have 8 graded samples
per problem with these correct counts; at k=8 the coverage sets are both {p0, p1}, only A {p2, p5},
only B {p3}, neither {p4}. A's p4 has one timeout; B's p4 has a ninth, ungraded sample. Run C (other-m)
is counts-only (problem_stat rows, no samples), n=4.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from app.models import Benchmark, Model, ModelKind, Problem, ProblemStat, Run, RunStatus, Sample, Verdict
from app.services.samples import refresh_problem_stats

CORRECT_A = [8, 4, 1, 0, 0, 2]
CORRECT_B = [8, 8, 0, 3, 0, 0]
CORRECT_C = [4, 2, 0, 0, 1, 0]
N = 8
LEVELS = ["Level 2", "Level 10", "Level 1"]
SUBJECTS = ["Algebra", "Geometry"]
TEXT_PAD = "x" * 300


@dataclass(frozen=True)
class SeededStore:
    """Ids of what `seed_store` wrote."""

    benchmark_id: int
    problem_ids: list[int]
    base_model_id: int
    rl_model_id: int
    run_a: int
    run_b: int
    run_c: int


def _samples(run_id: int, problem_ids: list[int], correct: list[int], tag: str) -> list[dict]:
    rows = []
    for i, (pid, c) in enumerate(zip(problem_ids, correct, strict=True)):
        for j in range(N):
            good = j < c
            rows.append(
                {
                    "run_id": run_id,
                    "problem_id": pid,
                    "idx": j,
                    "text": f"Solution {tag}-p{i}-{j}: {TEXT_PAD}",
                    "answer": str(i) if good else f"wrong{j % 2}",
                    "verdict": Verdict.correct if good else Verdict.incorrect,
                    "num_tokens": 100 + j,
                    "finish_reason": "stop",
                    "grader_detail": {"grader": "test"},
                }
            )
    return rows


def seed_store(sessions: sessionmaker[Session]) -> SeededStore:
    """Write the store described in the module docstring; returns the ids."""
    with sessions() as session, session.begin():
        benchmark = Benchmark(name="toy", domain="math", source="test")
        session.add(benchmark)
        session.flush()
        problems = [
            Problem(
                benchmark_id=benchmark.id,
                key=f"p{i}",
                position=i,
                statement=f"What is {i} + 0? (problem p{i})",
                answer=str(i),
                meta={"subject": SUBJECTS[i % 2], "level": LEVELS[i % 3], "source_id": f"src-{i}"},
            )
            for i in range(6)
        ]
        session.add_all(problems)
        base = Model(name="base-m", kind=ModelKind.base)
        session.add(base)
        session.flush()
        rl = Model(name="rl-m", kind=ModelKind.rl, base_model_id=base.id)
        other = Model(name="other-m", kind=ModelKind.other)
        session.add_all([rl, other])
        session.flush()
        runs = []
        for model, has_samples, n in ((base, True, N), (rl, True, N), (other, False, 4)):
            run = Run(
                model_id=model.id,
                benchmark_id=benchmark.id,
                engine="import",
                n_per_problem=n,
                has_samples=has_samples,
                status=RunStatus.done,
                samples_total=n * 6,
                samples_done=n * 6,
            )
            session.add(run)
            runs.append(run)
        session.flush()
        run_a, run_b, run_c = runs
        pids = [p.id for p in problems]
        rows_a = _samples(run_a.id, pids, CORRECT_A, "A")
        rows_a[4 * N + 7]["verdict"] = Verdict.timeout  # A, p4, idx 7
        rows_a[4 * N + 7]["answer"] = None
        rows_b = _samples(run_b.id, pids, CORRECT_B, "B")
        rows_b.insert(
            5 * N,
            {
                "run_id": run_b.id,
                "problem_id": pids[4],
                "idx": N,
                "text": "Solution B-p4-8: not graded yet",
                "answer": "4",
                "verdict": Verdict.ungraded,
                "num_tokens": None,
                "finish_reason": "length",
                "grader_detail": None,
            },
        )
        session.execute(insert(Sample), rows_a + rows_b)
        refresh_problem_stats(session=session, run_id=run_a.id)
        refresh_problem_stats(session=session, run_id=run_b.id)
        session.execute(
            insert(ProblemStat),
            [
                {"run_id": run_c.id, "problem_id": pid, "n": 4, "correct": c, "errors": 0, "ungraded": 0}
                for pid, c in zip(pids, CORRECT_C, strict=True)
            ],
        )
        return SeededStore(
            benchmark_id=benchmark.id,
            problem_ids=pids,
            base_model_id=base.id,
            rl_model_id=rl.id,
            run_a=run_a.id,
            run_b=run_b.id,
            run_c=run_c.id,
        )
