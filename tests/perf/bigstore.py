"""A large, realistic store for the performance suite: `runs` runs x `problems` problems x `n` samples.

Defaults give 4 x 1,000 x 256 = 1,024,000 samples: two models (base, and rl trained from it), two runs
each (two temperatures); problems with subject/level metadata and gold answers; samples with traces of a
few hundred characters, a mix of verdicts (correct, incorrect, a few timeouts) and a handful of distinct
wrong answers per problem so that answer clusters mean something; problem_stat filled to match.
Written in bulk: executemany on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, insert, select, text

from app.core.db import make_engine
from app.core.schema import upgrade
from app.models import Benchmark, Model, ModelKind, Problem, ProblemStat, Run, RunStatus

SUBJECTS = (
    "Algebra",
    "Counting & Probability",
    "Geometry",
    "Intermediate Algebra",
    "Number Theory",
    "Precalculus",
)
WORDS = (
    "First we note that the expression can be simplified by factoring the numerator and the denominator. "
    "Substituting the given values, we get a quadratic equation whose roots we find with the formula. "
    "Checking both candidates against the constraints, only one of them remains valid. "
    "Therefore the answer follows after a short computation, which we verify once more. "
)
PAD = WORDS * 8


@dataclass(frozen=True)
class BigStore:
    """What `build_big_store` wrote."""

    url: str
    benchmark_id: int
    problem_ids: list[int]
    run_ids: list[int]
    base_run_ids: list[int]
    rl_run_ids: list[int]
    samples: int
    seconds: float


def _counts(rng: np.random.Generator, runs: int, problems: int, n: int) -> np.ndarray:
    """Correct counts per (run, problem): base runs broad, RL runs sharper (higher pass@1, fewer solved)."""
    difficulty = rng.beta(0.6, 0.9, size=problems)
    out = np.empty((runs, problems), dtype=np.int64)
    for r in range(runs):
        if r % 2 == 0:  # base
            p = np.where(rng.random(problems) < 0.05, 0.0, difficulty)
        else:  # rl: sharper, but loses some problems entirely
            p = np.where(rng.random(problems) < 0.92, np.clip(difficulty * 1.6, 0, 1) ** 0.7, 0.0)
        out[r] = rng.binomial(n, p)
    return out


def build_big_store(
    url: str, *, runs: int = 4, problems: int = 1000, n: int = 256, seed: int = 0
) -> BigStore:
    """Create the schema at `url` (an empty database) and fill it; returns the ids and the build time."""
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        upgrade(engine)
        rng = np.random.default_rng(seed)
        with engine.begin() as conn:
            benchmark_id = conn.execute(
                insert(Benchmark)
                .values(name="big", domain="math", source="generated")
                .returning(Benchmark.id)
            ).scalar_one()
            conn.execute(
                insert(Problem),
                [
                    {
                        "benchmark_id": benchmark_id,
                        "key": f"big/{i:05d}",
                        "position": i,
                        "statement": f"Problem {i}: compute the value of the expression for case {i}.",
                        "answer": str(i * 7 % 1000),
                        "tests": None,
                        "meta": {"subject": SUBJECTS[i % len(SUBJECTS)], "level": f"Level {i % 5 + 1}"},
                    }
                    for i in range(problems)
                ],
            )
            problem_ids = list(
                conn.scalars(
                    select(Problem.id).where(Problem.benchmark_id == benchmark_id).order_by(Problem.position)
                )
            )
            base_id = conn.execute(
                insert(Model).values(name="big-base", kind=ModelKind.base).returning(Model.id)
            ).scalar_one()
            rl_id = conn.execute(
                insert(Model)
                .values(name="big-rl", kind=ModelKind.rl, base_model_id=base_id)
                .returning(Model.id)
            ).scalar_one()
            run_ids = []
            for r in range(runs):
                run_ids.append(
                    conn.execute(
                        insert(Run)
                        .values(
                            model_id=base_id if r % 2 == 0 else rl_id,
                            benchmark_id=benchmark_id,
                            engine="vllm",
                            temperature=0.6 if r < 2 else 1.0,
                            top_p=0.95,
                            max_tokens=4096,
                            seed=r,
                            n_per_problem=n,
                            has_samples=True,
                            grader="math",
                            status=RunStatus.done,
                            samples_done=n * problems,
                            samples_total=n * problems,
                        )
                        .returning(Run.id)
                    ).scalar_one()
                )
        correct = _counts(rng, runs, problems, n)
        stats = _write_samples(engine, rng, run_ids, problem_ids, correct, n)
        with engine.begin() as conn:
            conn.execute(insert(ProblemStat), stats)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return BigStore(
        url=url,
        benchmark_id=benchmark_id,
        problem_ids=problem_ids,
        run_ids=run_ids,
        base_run_ids=run_ids[0::2],
        rl_run_ids=run_ids[1::2],
        samples=runs * problems * n,
        seconds=time.perf_counter() - started,
    )


def _rows_of_problem(
    rng: np.random.Generator, run_id: int, problem_id: int, position: int, c: int, n: int
) -> tuple[list[tuple], tuple[int, int, int]]:
    """One (run, problem)'s sample rows (c correct, shuffled) and its (n graded, correct, errors)."""
    gold = str(position * 7 % 1000)
    verdicts = np.zeros(n, dtype=np.int8)  # 0 incorrect, 1 correct, 2 timeout
    verdicts[rng.permutation(n)[:c]] = 1
    wrong = np.flatnonzero(verdicts == 0)
    timeouts = wrong[rng.random(wrong.size) < 0.01]
    verdicts[timeouts] = 2
    # A few distinct wrong answers per problem, the first far more common (Zipf-like).
    wrong_pick = rng.choice(5, size=n, p=[0.5, 0.25, 0.12, 0.08, 0.05])
    lengths = rng.integers(200, 700, size=n)
    tokens = lengths // 4
    rows = []
    for j in range(n):
        v = verdicts[j]
        if v == 1:
            answer, verdict = gold, "correct"
        elif v == 2:
            answer, verdict = None, "timeout"
        else:
            answer, verdict = str(int(gold) + 1 + int(wrong_pick[j])), "incorrect"
        body = f"Run {run_id}, sample {j}. " + PAD[: int(lengths[j])] + f" The answer is \\boxed{{{answer}}}."
        rows.append((run_id, problem_id, j, body, answer, verdict, int(tokens[j]), "stop"))
    return rows, (n, c, int(timeouts.size))


COLUMNS = ("run_id", "problem_id", "idx", "text", "answer", "verdict", "num_tokens", "finish_reason")


def _write_samples(
    engine: Engine,
    rng: np.random.Generator,
    run_ids: list[int],
    problem_ids: list[int],
    correct: np.ndarray,
    n: int,
) -> list[dict]:
    """Bulk-write every sample (COPY on PostgreSQL, executemany on SQLite); returns the problem_stat rows."""
    stats = []
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if not postgres:
            cursor.execute("PRAGMA synchronous=OFF")
        sql = f"INSERT INTO sample ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        for r, run_id in enumerate(run_ids):
            batch: list[tuple] = []
            for position, problem_id in enumerate(problem_ids):
                rows, (graded, c, errors) = _rows_of_problem(
                    rng, run_id, problem_id, position, int(correct[r, position]), n
                )
                batch.extend(rows)
                stats.append(
                    {
                        "run_id": run_id,
                        "problem_id": problem_id,
                        "n": graded,
                        "correct": c,
                        "errors": errors,
                        "ungraded": 0,
                    }
                )
            if postgres:
                with cursor.copy(f"COPY sample ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, batch)
            raw.commit()
        cursor.close()
    finally:
        raw.close()
    return stats


if __name__ == "__main__":  # pragma: no cover - a manual entry point: python -m tests.perf.bigstore URL
    import sys

    built = build_big_store(sys.argv[1])
    sys.stdout.write(f"{built.samples} samples in {built.seconds:.1f} s\n")
