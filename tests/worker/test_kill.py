"""A worker SIGKILLed mid-run and restarted beside a second worker, on PostgreSQL: the run still ends with
exactly n samples per problem, none twice, no unit lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import make_engine, make_session_factory
from app.models import ProblemStat, Run, RunStatus, Sample, WorkUnit, WorkUnitStatus
from tests.helpers import ARITHMETIC_FIELDS, CLI, run_cli, write_arithmetic_benchmark

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N = 4
PROBLEMS = 30


def _worker(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "COVERSCOPE_DATABASE_URL": url, "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen(
        [*CLI, "worker", "--lease-seconds", "4", "--chunk-samples", "8"],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def test_killed_worker_loses_nothing(postgres_url: str, tiny_model: Path, tmp_path: Path) -> None:
    toy = write_arithmetic_benchmark(tmp_path / "toy.jsonl", PROBLEMS, factor=3, prefix="k")
    run_id = int(
        run_cli(
            "enqueue",
            "--engine",
            "hf",
            "--model",
            str(tiny_model),
            "--benchmark",
            "math500",
            "--benchmark-file",
            str(toy),
            *ARITHMETIC_FIELDS,
            "--n",
            str(N),
            "--max-tokens",
            "48",
            "--temperature",
            "1.0",
            "--unit-size",
            "2",
            "--dtype",
            "float32",
            "--seed",
            "3",
            database_url=postgres_url,
        ).stdout
    )
    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    log = tmp_path / "workers.log"
    victim = _worker(postgres_url, log)
    other = _worker(postgres_url, log)
    try:
        # wait until the victim holds a lease and the run has made progress, then kill it hard
        victim_units: list[int] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with sessions() as session:
                done = session.scalar(select(Run.samples_done).where(Run.id == run_id))
                victim_units = list(
                    session.scalars(
                        select(WorkUnit.id).where(
                            WorkUnit.status == WorkUnitStatus.leased,
                            WorkUnit.lease_owner.like(f"%:{victim.pid}:%"),
                        )
                    )
                )
            if done and victim_units:
                break
            assert victim.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        assert victim_units, "the victim never held a unit while the run was in progress"
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        with sessions() as session:
            assert session.scalar(select(Run.status).where(Run.id == run_id)) is RunStatus.running
        restarted = _worker(postgres_url, log)
        for proc in (other, restarted):
            assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    finally:
        for proc in (victim, other):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    with sessions() as session:
        run = session.get(Run, run_id)
        assert run.status is RunStatus.done, log.read_text()[-3000:]
        per_problem = session.execute(
            select(Sample.problem_id, func.count(), func.count(func.distinct(Sample.idx)))
            .where(Sample.run_id == run_id)
            .group_by(Sample.problem_id)
        ).all()
        assert len(per_problem) == PROBLEMS
        assert all(count == N and distinct == N for _, count, distinct in per_problem)
        stats = session.scalars(select(ProblemStat).where(ProblemStat.run_id == run_id)).all()
        assert sorted(s.n + s.ungraded for s in stats) == [N] * PROBLEMS
        units = session.scalars(select(WorkUnit).where(WorkUnit.run_id == run_id)).all()
        assert all(u.status is WorkUnitStatus.done for u in units)
        reclaimed = [u for u in units if u.id in victim_units]
        assert reclaimed and all(u.attempts >= 2 for u in reclaimed)
        assert run.samples_done == N * PROBLEMS
    engine.dispose()
