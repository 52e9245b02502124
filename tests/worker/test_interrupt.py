"""Ctrl-C ends a worker cleanly: finished chunks stay, the unit in flight goes back to the queue at once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import make_engine, make_session_factory
from app.models import ProblemStat, Run, Sample, WorkUnit, WorkUnitStatus
from tests.helpers import ARITHMETIC_FIELDS, CLI, run_cli, write_arithmetic_benchmark

pytestmark = pytest.mark.slow

PROBLEMS = 120


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_hands_the_unit_back(tmp_path: Path, tiny_model: Path, signum: int, status: int) -> None:
    """Ctrl-C, or SIGTERM from `docker stop`, even with SIGINT ignored as a background job starts it."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    # Enough chunks that generation outlasts the grader's start-up on a loaded machine: the first chunk
    # is stored (and Ctrl-C sent) while most of the unit is still to be generated.
    toy = write_arithmetic_benchmark(tmp_path / "toy.jsonl", PROBLEMS, factor=1, prefix="i")
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
            "4",
            "--max-tokens",
            "48",
            "--unit-size",
            str(PROBLEMS),
            "--dtype",
            "float32",
            database_url=url,
        ).stdout
    )
    env = {**os.environ, "COVERSCOPE_DATABASE_URL": url, "TOKENIZERS_PARALLELISM": "false"}
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [*CLI, "worker", "--chunk-samples", "8"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        # as `cmd &` in a shell without job control starts it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with sessions() as session:
                if session.scalar(select(Run.samples_done).where(Run.id == run_id)):
                    break
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        proc.send_signal(signum)
        assert proc.wait(timeout=120) == status, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "handed back" in log.read_text()
    with sessions() as session:
        unit = session.scalar(select(WorkUnit).where(WorkUnit.run_id == run_id))
        assert unit.status is WorkUnitStatus.pending and unit.lease_owner is not None
        assert unit.lease_expires_at is None  # claimable at once, not after the lease runs out
        stored = session.scalar(select(func.count()).select_from(Sample).where(Sample.run_id == run_id))
        assert 0 < stored < PROBLEMS * 4 and stored % 4 == 0  # whole problems only
        stats = session.scalars(select(ProblemStat).where(ProblemStat.run_id == run_id)).all()
        assert all(s.n + s.ungraded == 4 for s in stats) and len(stats) * 4 == stored
    # a new worker finishes the run from where it stopped
    run_cli("worker", database_url=url)
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Sample).where(Sample.run_id == run_id))
        assert stored == PROBLEMS * 4
    engine.dispose()
