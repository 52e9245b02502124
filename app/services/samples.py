"""Writing samples and keeping problem_stat equal to them, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import ProblemStat, Sample, Verdict

GRADED = (Verdict.correct, Verdict.incorrect, Verdict.timeout, Verdict.error)
TEXT_COLUMNS = ("text", "answer", "finish_reason")
REPLACEMENT = "\ufffd"


def storable_text(value: str | None) -> str | None:
    """Model output as every supported database can store it: NUL (which PostgreSQL text refuses) becomes
    U+FFFD, on SQLite too, so that both stores hold the same text."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", REPLACEMENT)


def storable_rows(rows: list[dict]) -> list[dict]:
    """Sample rows with their text columns made storable (see `storable_text`)."""
    return [
        {**row, **{c: storable_text(row[c]) for c in TEXT_COLUMNS if isinstance(row.get(c), str)}}
        if any(isinstance(row.get(c), str) and "\x00" in row[c] for c in TEXT_COLUMNS)
        else row
        for row in rows
    ]


def insert_samples(*, session: Session, rows: list[dict]) -> int:
    """Bulk-insert sample rows (dicts of Sample columns); returns how many were written."""
    if rows:
        session.execute(insert(Sample), storable_rows(rows))
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
