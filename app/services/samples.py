"""Writing samples and keeping problem_stat equal to them, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import ProblemStat, Sample, Verdict

GRADED = (Verdict.correct, Verdict.incorrect, Verdict.timeout, Verdict.error)


def insert_samples(*, session: Session, rows: list[dict]) -> int:
    """Bulk-insert sample rows (dicts of Sample columns); returns how many were written."""
    if rows:
        session.execute(insert(Sample), rows)
    return len(rows)


def refresh_problem_stats(*, session: Session, run_id: int, problem_ids: Iterable[int] | None = None) -> None:
    """Recompute problem_stat rows of a run (all problems, or `problem_ids`) from its samples.

    One INSERT ... SELECT ... GROUP BY per call, using the (run, problem, verdict) index; call it in the
    transaction that wrote the samples so the counts never disagree with them.
    """
    ids = None if problem_ids is None else sorted(set(problem_ids))
    if ids is not None and not ids:
        return
    wipe = delete(ProblemStat).where(ProblemStat.run_id == run_id)
    source = (
        select(
            Sample.run_id,
            Sample.problem_id,
            func.sum(case((Sample.verdict.in_(GRADED), 1), else_=0)),
            func.sum(case((Sample.verdict == Verdict.correct, 1), else_=0)),
            func.sum(case((Sample.verdict.in_((Verdict.timeout, Verdict.error)), 1), else_=0)),
            func.sum(case((Sample.verdict == Verdict.ungraded, 1), else_=0)),
        )
        .where(Sample.run_id == run_id)
        .group_by(Sample.run_id, Sample.problem_id)
    )
    if ids is not None:
        wipe = wipe.where(ProblemStat.problem_id.in_(ids))
        source = source.where(Sample.problem_id.in_(ids))
    session.execute(wipe)
    session.execute(
        insert(ProblemStat).from_select(
            ["run_id", "problem_id", "n", "correct", "errors", "ungraded"], source
        )
    )
