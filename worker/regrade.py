"""`coverscope grade RUN`: grade stored samples again, without sampling again."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import InvalidInputError
from app.models import Problem, Run, Sample
from app.services.runs import get_run
from app.services.samples import refresh_problem_stats
from worker.graders import Grader, make_grader
from worker.pipeline import task_problem


def regrade_run(
    *,
    session_factory: sessionmaker[Session],
    run_id: int,
    grader_name: str | None = None,
    batch: int = 2000,
    grader: Grader | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Re-grade every sample of a run with `grader_name` (default: the run's grader); returns verdict counts.

    Each batch's new verdicts and the problem_stat rows they change commit together, so the store is
    consistent at every moment; the run records the grader name and version at the end.
    """
    with session_factory() as session:
        run = get_run(session=session, run_id=run_id)
        if not run.has_samples:
            raise InvalidInputError(
                f"run {run_id} holds counts only: there are no samples to grade", field="run"
            )
        name = grader_name or run.grader
        if not name or name == "none":
            raise InvalidInputError("name a grader: --grader math or --grader code", field="grader")
    own = grader is None
    grader = grader or make_grader(name)
    counts: dict[str, int] = {}
    last_id = 0
    try:
        while True:
            with session_factory() as session, session.begin():
                rows = session.execute(
                    select(Sample.id, Sample.text, Problem)
                    .join(Problem, Problem.id == Sample.problem_id)
                    .where(Sample.run_id == run_id, Sample.id > last_id)
                    .order_by(Sample.id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                last_id = rows[-1][0]
                by_problem: dict[int, list[tuple[int, str]]] = {}
                problems: dict[int, Problem] = {}
                for sample_id, text, problem in rows:
                    by_problem.setdefault(problem.id, []).append((sample_id, text))
                    problems[problem.id] = problem
                order = list(by_problem)
                grades = grader.grade(
                    [(task_problem(problems[pid]), [t for _, t in by_problem[pid]]) for pid in order]
                )
                updates = []
                for pid, verdicts in zip(order, grades, strict=True):
                    for (sample_id, _), grade in zip(by_problem[pid], verdicts, strict=True):
                        counts[grade.verdict] = counts.get(grade.verdict, 0) + 1
                        updates.append(
                            {
                                "id": sample_id,
                                "verdict": grade.verdict,
                                "answer": grade.answer,
                                "grader_detail": grade.detail,
                            }
                        )
                session.execute(update(Sample), updates)
                refresh_problem_stats(session=session, run_id=run_id, problem_ids=order)
            if progress:
                progress(len(rows))
        with session_factory() as session, session.begin():
            stored = session.get(Run, run_id)
            assert stored is not None
            stored.grader = grader.name
            stored.grader_version = grader.version
            stored.provenance = {**stored.provenance, "regraded_with": f"{grader.name} {grader.version}"}
    finally:
        if own:
            grader.close()
    return counts
