"""Work units: leases, reclaiming, idempotent writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import ProblemStat, Run, RunStatus, Sample, WorkUnit, WorkUnitStatus
from app.services.work import (
    claim_work_unit,
    complete_unit,
    enqueue_run,
    fail_unit,
    renew_lease,
    sync_benchmark,
    write_samples_idempotent,
)
from worker.types import TaskProblem

PROBLEMS = [TaskProblem(key=f"q{i}", statement=f"What is {i} + 1?", answer=str(i + 1)) for i in range(10)]


def _enqueue(sessions: sessionmaker[Session], *, unit_size: int = 3, n: int = 2) -> int:
    with sessions() as session, session.begin():
        benchmark, ids = sync_benchmark(
            session=session, name="toy", domain="math", source="test", revision=None, problems=PROBLEMS
        )
        run = enqueue_run(
            session=session,
            model="m",
            kind=None,
            base_model=None,
            model_revision=None,
            benchmark=benchmark,
            problem_ids=ids,
            n=n,
            engine="hf",
            template="question-only",
            template_text="{question}",
            sampling={"temperature": 1.0, "top_p": 1.0, "max_tokens": 8, "seed": 0},
            engine_options={},
            grader="math",
            unit_size=unit_size,
        )
        return run.id


def test_units_cover_the_run_once(sessions: sessionmaker[Session]) -> None:
    run_id = _enqueue(sessions)
    with sessions() as session:
        units = session.scalars(
            select(WorkUnit).where(WorkUnit.run_id == run_id).order_by(WorkUnit.start)
        ).all()
        assert [(u.start, u.stop) for u in units] == [(0, 3), (3, 6), (6, 9), (9, 10)]
        assert sum(len(u.problem_ids) for u in units) == 10
        assert len({i for u in units for i in u.problem_ids}) == 10
        run = session.get(Run, run_id)
        assert run.status is RunStatus.queued and run.samples_total == 20
    # loading the same benchmark again reuses its problems
    with sessions() as session, session.begin():
        _, ids = sync_benchmark(
            session=session, name="toy", domain="math", source="t", revision=None, problems=PROBLEMS
        )
        assert (
            ids == units[0].problem_ids + units[1].problem_ids + units[2].problem_ids + units[3].problem_ids
        )


def test_concurrent_claims_never_share_a_unit(sessions: sessionmaker[Session]) -> None:
    run_id = _enqueue(sessions, unit_size=1)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            unit = claim_work_unit(
                session_factory=sessions, owner=f"{name}-{time.perf_counter_ns()}", lease_s=60
            )
            if unit is None:
                return
            with lock:
                claimed.append(unit.unit_id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 10
    with sessions() as session:
        assert session.get(Run, run_id).status is RunStatus.running


def test_expired_lease_is_reclaimed_and_the_old_owner_loses_it(sessions: sessionmaker[Session]) -> None:
    _enqueue(sessions, unit_size=10)
    first = claim_work_unit(session_factory=sessions, owner="a", lease_s=0.2)
    assert first is not None
    assert claim_work_unit(session_factory=sessions, owner="b", lease_s=60) is None
    time.sleep(0.3)
    second = claim_work_unit(session_factory=sessions, owner="b", lease_s=60)
    assert second is not None and second.unit_id == first.unit_id and second.attempts == 2
    assert not renew_lease(session_factory=sessions, unit=first, lease_s=60)
    assert renew_lease(session_factory=sessions, unit=second, lease_s=60)
    assert not complete_unit(session_factory=sessions, unit=first)
    assert complete_unit(session_factory=sessions, unit=second)
    with sessions() as session:
        unit = session.get(WorkUnit, second.unit_id)
        assert unit.status is WorkUnitStatus.done
        assert session.scalar(select(Run.status)) is RunStatus.done


def test_redelivered_samples_are_written_once(sessions: sessionmaker[Session]) -> None:
    run_id = _enqueue(sessions, unit_size=10)
    unit = claim_work_unit(session_factory=sessions, owner="a", lease_s=60)
    rows = [
        {
            "run_id": run_id,
            "problem_id": pid,
            "idx": i,
            "text": f"{i}",
            "answer": "1",
            "verdict": "correct" if i == 0 else "incorrect",
            "num_tokens": 3,
            "finish_reason": "stop",
            "grader_detail": None,
        }
        for pid in unit.problem_ids[:4]
        for i in range(2)
    ]
    assert write_samples_idempotent(session_factory=sessions, run_id=run_id, rows=rows) == 8
    assert write_samples_idempotent(session_factory=sessions, run_id=run_id, rows=rows[2:]) == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == 8
        stats = session.scalars(select(ProblemStat).where(ProblemStat.run_id == run_id)).all()
        assert sorted((s.n, s.correct) for s in stats) == [(2, 1)] * 4
        assert session.get(Run, run_id).samples_done == 8


def test_failed_unit_returns_then_fails_the_run(sessions: sessionmaker[Session]) -> None:
    run_id = _enqueue(sessions, unit_size=10)
    for attempt in range(1, 4):
        unit = claim_work_unit(session_factory=sessions, owner=f"w{attempt}", lease_s=60)
        assert unit is not None and unit.attempts == attempt
        fail_unit(session_factory=sessions, unit=unit, error="CUDA out of memory", max_attempts=3)
    assert claim_work_unit(session_factory=sessions, owner="w4", lease_s=60) is None
    with sessions() as session:
        run = session.get(Run, run_id)
        assert run.status is RunStatus.failed and "CUDA out of memory" in run.error


def test_nul_bytes_in_model_output_are_stored(sessions: sessionmaker[Session]) -> None:
    """A random model can emit NUL, which PostgreSQL text refuses: it is stored as U+FFFD on every store."""
    run_id = _enqueue(sessions, unit_size=10)
    unit = claim_work_unit(session_factory=sessions, owner="a", lease_s=60)
    row = {
        "run_id": run_id,
        "problem_id": unit.problem_ids[0],
        "idx": 0,
        "text": "a\x00b",
        "answer": "\x00",
        "verdict": "incorrect",
        "num_tokens": 3,
        "finish_reason": "length",
        "grader_detail": {"raw": "\x00"},
    }
    assert write_samples_idempotent(session_factory=sessions, run_id=run_id, rows=[row]) == 1
    with sessions() as session:
        sample = session.scalar(select(Sample))
        assert (sample.text, sample.answer) == ("a\ufffdb", "\ufffd")
        assert sample.grader_detail == {"raw": "\x00"}
