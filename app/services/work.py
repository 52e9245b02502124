"""Runs as queues of work units: enqueue, claim with a lease, renew, write results idempotently, finish.

Many workers on many machines share one database. On PostgreSQL a claim is
`SELECT ... FOR UPDATE SKIP LOCKED`; on SQLite (one writer at a time) it is a single conditional
UPDATE, which the database applies atomically. Every sample write is idempotent through the
(run, problem, index) unique key, so a unit that is delivered twice (its first worker died or
lost its lease) can never produce a sample twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.models import (
    Benchmark,
    Model,
    ModelKind,
    Problem,
    ProblemStat,
    Run,
    RunStatus,
    Sample,
    WorkUnit,
    WorkUnitStatus,
)
from app.services.catalog import fill_problem, get_or_create_benchmark, get_or_create_model, insert_problems
from app.services.samples import refresh_problem_stats, storable_rows


class BenchmarkProblem(Protocol):
    """A problem as a benchmark loader hands it over (worker.types.TaskProblem is one)."""

    key: str
    statement: str
    answer: str | None
    tests: str | None
    meta: dict[str, Any]


@dataclass(frozen=True)
class ClaimedUnit:
    """A unit this worker holds the lease of, with what it needs to work on it."""

    unit_id: int
    run_id: int
    owner: str
    problem_ids: list[int]
    attempts: int


def content_hash(problems: Sequence[BenchmarkProblem]) -> str:
    """SHA-256 over a canonical JSON of the problems, to tell benchmark versions apart."""
    digest = hashlib.sha256()
    for p in problems:
        record = [p.key, p.statement, p.answer, p.tests, p.meta]
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def sync_benchmark(
    *,
    session: Session,
    name: str,
    domain: str,
    source: str | None,
    revision: str | None,
    problems: Sequence[BenchmarkProblem],
) -> tuple[Benchmark, list[int]]:
    """Store the benchmark's problems (new ones appended, missing fields filled, conflicts refused).

    Returns the benchmark and the ids of `problems` in their order.
    """
    benchmark = get_or_create_benchmark(session=session, name=name, source=source, domain=domain)
    if revision and not benchmark.revision:
        benchmark.revision = revision
    digest = content_hash(problems)
    if benchmark.content_hash is None:
        benchmark.content_hash = digest
    stored = {p.key: p for p in session.scalars(select(Problem).where(Problem.benchmark_id == benchmark.id))}
    fresh = []
    for p in problems:
        row = stored.get(p.key)
        if row is None:
            fresh.append(
                {"key": p.key, "statement": p.statement, "answer": p.answer, "tests": p.tests, "meta": p.meta}
            )
            continue
        conflict = fill_problem(row, statement=p.statement, answer=p.answer, tests=p.tests, meta=p.meta)
        if conflict is not None:
            raise ConflictError(
                f"benchmark {name!r} already has problem {p.key!r} with a different {conflict}; "
                "load the new version under another benchmark name"
            )
    ids = insert_problems(session=session, benchmark_id=benchmark.id, rows=fresh)
    ids.update({key: row.id for key, row in stored.items()})
    return benchmark, [ids[p.key] for p in problems]


def enqueue_run(
    *,
    session: Session,
    model: str,
    kind: ModelKind | None,
    base_model: str | None,
    model_revision: str | None,
    benchmark: Benchmark,
    problem_ids: list[int],
    n: int,
    engine: str,
    template: str,
    template_text: str,
    sampling: dict[str, Any],
    engine_options: dict[str, Any],
    grader: str,
    unit_size: int,
    name: str | None = None,
) -> Run:
    """Create a queued run and its work units (slices of `unit_size` problems)."""
    if n < 1:
        raise InvalidInputError("must be at least 1", field="n")
    if unit_size < 1:
        raise InvalidInputError("must be at least 1", field="unit_size")
    if not problem_ids:
        raise InvalidInputError("the benchmark has no problems", field="benchmark")
    stored_model = get_or_create_model(
        session=session, name=model, kind=kind, base_model=base_model, revision=model_revision
    )
    run = Run(
        name=name,
        model_id=stored_model.id,
        benchmark_id=benchmark.id,
        engine=engine,
        prompt_template=template_text,
        temperature=sampling.get("temperature"),
        top_p=sampling.get("top_p"),
        max_tokens=sampling.get("max_tokens"),
        seed=sampling.get("seed"),
        sampling={**sampling, "template": template, "engine_options": engine_options},
        n_per_problem=n,
        has_samples=True,
        grader=grader,
        status=RunStatus.queued,
        samples_done=0,
        samples_total=n * len(problem_ids),
        provenance={"enqueued_at": datetime.now(UTC).isoformat(timespec="seconds")},
    )
    session.add(run)
    session.flush()
    session.add_all(
        WorkUnit(
            run_id=run.id,
            start=start,
            stop=min(start + unit_size, len(problem_ids)),
            problem_ids=problem_ids[start : start + unit_size],
            status=WorkUnitStatus.pending,
        )
        for start in range(0, len(problem_ids), unit_size)
    )
    session.flush()
    return run


def _now() -> datetime:
    return datetime.now(UTC)


def claim_work_unit(
    *, session_factory: sessionmaker[Session], owner: str, lease_s: float, run_id: int | None = None
) -> ClaimedUnit | None:
    """Lease one pending (or expired) unit of a queued or running run, oldest first; None if none is left."""
    now = _now()
    expires = now + timedelta(seconds=lease_s)
    claimable = (WorkUnit.status == WorkUnitStatus.pending) | (
        (WorkUnit.status == WorkUnitStatus.leased) & (WorkUnit.lease_expires_at < now)
    )
    live_runs = select(Run.id).where(Run.status.in_((RunStatus.queued, RunStatus.running)))
    if run_id is not None:
        live_runs = live_runs.where(Run.id == run_id)
    candidates = (
        select(WorkUnit.id).where(claimable, WorkUnit.run_id.in_(live_runs)).order_by(WorkUnit.id).limit(1)
    )
    with session_factory() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            unit_id = session.scalar(candidates.with_for_update(skip_locked=True))
            if unit_id is None:
                return None
            session.execute(
                update(WorkUnit)
                .where(WorkUnit.id == unit_id)
                .values(
                    status=WorkUnitStatus.leased,
                    lease_owner=owner,
                    lease_expires_at=expires,
                    attempts=WorkUnit.attempts + 1,
                    updated_at=now,
                )
            )
        else:
            result = session.execute(
                update(WorkUnit)
                .where(WorkUnit.id == candidates.scalar_subquery(), claimable)
                .values(
                    status=WorkUnitStatus.leased,
                    lease_owner=owner,
                    lease_expires_at=expires,
                    attempts=WorkUnit.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:
                return None
        unit = session.scalar(
            select(WorkUnit).where(WorkUnit.lease_owner == owner, WorkUnit.status == WorkUnitStatus.leased)
        )
        if unit is None:
            return None
        session.execute(
            update(Run)
            .where(Run.id == unit.run_id, Run.status == RunStatus.queued)
            .values(status=RunStatus.running, started_at=now)
        )
        return ClaimedUnit(
            unit_id=unit.id,
            run_id=unit.run_id,
            owner=owner,
            problem_ids=list(unit.problem_ids),
            attempts=unit.attempts,
        )


def renew_lease(*, session_factory: sessionmaker[Session], unit: ClaimedUnit, lease_s: float) -> bool:
    """Extend the lease; False when it was lost (expired and taken by another worker, or run cancelled)."""
    with session_factory() as session, session.begin():
        result = session.execute(
            update(WorkUnit)
            .where(
                WorkUnit.id == unit.unit_id,
                WorkUnit.lease_owner == unit.owner,
                WorkUnit.status == WorkUnitStatus.leased,
            )
            .values(lease_expires_at=_now() + timedelta(seconds=lease_s), updated_at=_now())
        )
        cancelled = session.scalar(select(Run.status).where(Run.id == unit.run_id)) == RunStatus.cancelled
        return result.rowcount == 1 and not cancelled


def complete_unit(*, session_factory: sessionmaker[Session], unit: ClaimedUnit) -> bool:
    """Mark the unit done (if this worker still holds it) and the run done when no unit is left."""
    with session_factory() as session, session.begin():
        result = session.execute(
            update(WorkUnit)
            .where(WorkUnit.id == unit.unit_id, WorkUnit.lease_owner == unit.owner)
            .values(status=WorkUnitStatus.done, lease_expires_at=None, updated_at=_now())
        )
        _finish_run_if_complete(session, unit.run_id)
        return result.rowcount == 1


def fail_unit(
    *, session_factory: sessionmaker[Session], unit: ClaimedUnit, error: str, max_attempts: int = 3
) -> None:
    """Give the unit back after an error; after `max_attempts` it is failed, and so is its run."""
    with session_factory() as session, session.begin():
        row = session.get(WorkUnit, unit.unit_id)
        if row is None or row.lease_owner != unit.owner:
            return
        row.last_error = error[-4000:]
        row.lease_expires_at = None
        if row.attempts >= max_attempts:
            row.status = WorkUnitStatus.failed
            run = session.get(Run, unit.run_id)
            if run is not None:
                run.status = RunStatus.failed
                run.error = f"work unit {row.id} failed {row.attempts} times: {error[-1000:]}"
        else:
            row.status = WorkUnitStatus.pending


def _finish_run_if_complete(session: Session, run_id: int) -> None:
    open_units = session.scalar(
        select(func.count())
        .select_from(WorkUnit)
        .where(WorkUnit.run_id == run_id, WorkUnit.status != WorkUnitStatus.done)
    )
    if open_units == 0:
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.in_((RunStatus.queued, RunStatus.running)))
            .values(status=RunStatus.done, finished_at=_now())
        )


def problems_of_unit(*, session: Session, unit: ClaimedUnit) -> list[Problem]:
    """The unit's problems in the run's order."""
    rows = {p.id: p for p in session.scalars(select(Problem).where(Problem.id.in_(unit.problem_ids)))}
    return [rows[i] for i in unit.problem_ids]


def complete_problem_ids(*, session: Session, run_id: int, problem_ids: list[int], n: int) -> set[int]:
    """The problems that already have all n samples in this run (skipped when a unit is redelivered)."""
    if not problem_ids:
        return set()
    rows = session.execute(
        select(ProblemStat.problem_id).where(
            ProblemStat.run_id == run_id,
            ProblemStat.problem_id.in_(problem_ids),
            ProblemStat.n + ProblemStat.ungraded >= n,
        )
    )
    return {r[0] for r in rows}


def write_samples_idempotent(*, session_factory: sessionmaker[Session], run_id: int, rows: list[dict]) -> int:
    """Insert a chunk's samples (duplicates of (run, problem, index) ignored) and update problem_stat and
    the run's progress, all in one transaction. Returns how many samples were new."""
    if not rows:
        return 0
    with session_factory() as session, session.begin():
        dialect = session.bind.dialect.name
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert_fn(Sample).on_conflict_do_nothing(index_elements=["run_id", "problem_id", "idx"])
        result = session.execute(statement.returning(Sample.id), storable_rows(rows))
        written = len(result.all())
        refresh_problem_stats(session=session, run_id=run_id, problem_ids={r["problem_id"] for r in rows})
        done = session.scalar(
            select(func.coalesce(func.sum(ProblemStat.n + ProblemStat.ungraded), 0)).where(
                ProblemStat.run_id == run_id
            )
        )
        session.execute(update(Run).where(Run.id == run_id).values(samples_done=done))
        return written


def record_provenance(*, session_factory: sessionmaker[Session], run_id: int, facts: dict[str, Any]) -> None:
    """Merge what a worker learned (engine version, GPU, grader version) into the run's provenance."""
    with session_factory() as session, session.begin():
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError("run", run_id)
        workers = dict(run.provenance.get("workers") or {})
        workers[facts.get("worker", "?")] = facts
        run.provenance = {**run.provenance, "workers": workers, **facts.get("run", {})}
        if facts.get("grader_version") and not run.grader_version:
            run.grader_version = facts["grader_version"]


def run_model_name(*, session: Session, run_id: int) -> str:
    """The model name of a run."""
    name = session.scalar(select(Model.name).join(Run, Run.model_id == Model.id).where(Run.id == run_id))
    if name is None:
        raise NotFoundError("run", run_id)
    return name
