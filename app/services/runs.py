"""Reading runs and their per-problem counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.core.errors import InvalidInputError, NotFoundError
from app.models import Benchmark, Model, Problem, ProblemStat, Run


@dataclass(frozen=True)
class RunCounts:
    """A run's per-problem counts in benchmark order; problems with no graded sample are left out."""

    run: Run
    problem_ids: np.ndarray
    keys: list[str]
    correct: np.ndarray
    n: np.ndarray


def get_run(*, session: Session, run_id: int) -> Run:
    """The run with its model and benchmark loaded, or NotFoundError."""
    run = session.scalar(
        select(Run)
        .where(Run.id == run_id)
        .options(joinedload(Run.model).joinedload(Model.base_model), joinedload(Run.benchmark))
    )
    if run is None:
        raise NotFoundError("run", run_id)
    return run


def list_runs(
    *,
    session: Session,
    model: str | None = None,
    benchmark: str | None = None,
    status: str | None = None,
) -> list[Run]:
    """Runs, newest first, optionally filtered by model name, benchmark name and status."""
    query = (
        select(Run)
        .join(Run.model)
        .join(Run.benchmark)
        .options(joinedload(Run.model).joinedload(Model.base_model), joinedload(Run.benchmark))
        .order_by(Run.id.desc())
    )
    if model is not None:
        query = query.where(Model.name == model)
    if benchmark is not None:
        query = query.where(Benchmark.name == benchmark)
    if status is not None:
        query = query.where(Run.status == status)
    return list(session.scalars(query).unique())


def run_counts(*, session: Session, run_id: int) -> RunCounts:
    """Per-problem (correct, n) of a run from problem_stat (never from the samples table)."""
    run = get_run(session=session, run_id=run_id)
    rows = session.execute(
        select(ProblemStat.problem_id, Problem.key, ProblemStat.correct, ProblemStat.n)
        .join(Problem, Problem.id == ProblemStat.problem_id)
        .where(ProblemStat.run_id == run_id, ProblemStat.n > 0)
        .order_by(Problem.position, Problem.id)
    ).all()
    if not rows:
        raise InvalidInputError(f"run {run_id} has no graded samples yet", field="run")
    return RunCounts(
        run=run,
        problem_ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
        keys=[r[1] for r in rows],
        correct=np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows)),
        n=np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows)),
    )
