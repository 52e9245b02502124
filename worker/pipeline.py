"""The worker loop: claim a unit, generate chunk by chunk, grade each chunk while the next one generates,
write every chunk in one transaction, renew the lease, and hand the unit back cleanly on Ctrl-C."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.models import Problem, Run
from app.services.work import (
    ClaimedUnit,
    claim_work_unit,
    complete_problem_ids,
    complete_unit,
    fail_unit,
    problems_of_unit,
    record_provenance,
    renew_lease,
    write_samples_idempotent,
)
from worker.engines import Engine, EngineOptions, SamplingConfig, make_engine, problem_seed
from worker.graders import Grader, make_grader
from worker.prompts import FILE_PREFIX, Template, load_template, template_from_text
from worker.types import Completion, TaskProblem

log = logging.getLogger(__name__)

EngineFactory = Callable[[str, str, EngineOptions], Engine]
GraderFactory = Callable[[str], Grader]


@dataclass
class WorkerStats:
    """What one worker did."""

    units: int = 0
    samples: int = 0
    tokens: int = 0
    generate_s: float = 0.0
    grade_s: float = 0.0
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Chunk:
    unit: ClaimedUnit
    problems: list[TaskProblem]
    problem_ids: list[int]
    completions: list[list[Completion]]


class LeaseLost(Exception):
    """Another worker owns the unit now (our lease expired), or the run was cancelled."""


def worker_id() -> str:
    """A name for this worker process, unique per start: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def task_problem(problem: Problem) -> TaskProblem:
    """The worker's view of a stored problem."""
    return TaskProblem(
        key=problem.key,
        statement=problem.statement or "",
        answer=problem.answer,
        tests=problem.tests,
        meta=dict(problem.meta or {}),
    )


class Worker:
    """Works queued units until none is left (or `max_units`); one engine and one grader at a time."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        lease_s: float = 300.0,
        chunk_samples: int = 4096,
        engine_factory: EngineFactory = make_engine,
        grader_factory: GraderFactory = make_grader,
        on_progress: Callable[[int, int], None] | None = None,
        owner: str | None = None,
    ) -> None:
        self.sessions = session_factory
        self.lease_s = lease_s
        self.chunk_samples = chunk_samples
        self.engine_factory = engine_factory
        self.grader_factory = grader_factory
        self.on_progress = on_progress
        self.owner = owner or worker_id()
        self.stats = WorkerStats()
        self._engine: Engine | None = None
        self._engine_key: tuple[str, str, str] | None = None
        self._graders: dict[str, Grader] = {}
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the worker to stop after the chunk in flight (what Ctrl-C does)."""
        self._stop.set()

    def run(self, *, run_id: int | None = None, max_units: int | None = None) -> WorkerStats:
        """Claim and work units until none is left, `max_units` are done, or stop() / Ctrl-C."""
        try:
            while not self._stop.is_set() and (max_units is None or self.stats.units < max_units):
                unit = claim_work_unit(
                    session_factory=self.sessions,
                    owner=f"{self.owner}#{uuid.uuid4().hex[:8]}",
                    lease_s=self.lease_s,
                    run_id=run_id,
                )
                if unit is None:
                    break
                self._work(unit)
        finally:
            self.close()
        return self.stats

    def close(self) -> None:
        """Free the engine and stop the graders' processes."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        for grader in self._graders.values():
            grader.close()
        self._graders.clear()

    # -- one unit ---------------------------------------------------------------------------------

    def _work(self, unit: ClaimedUnit) -> None:
        with self.sessions() as session:
            run = session.get(Run, unit.run_id)
            assert run is not None
            model_name = run.model.name
            config = SamplingConfig(
                n=run.n_per_problem,
                temperature=run.temperature if run.temperature is not None else 1.0,
                top_p=run.top_p if run.top_p is not None else 1.0,
                max_tokens=run.max_tokens or 1024,
                seed=run.seed,
                stop=tuple(run.sampling.get("stop") or ()),
            )
            template_name = run.sampling.get("template") or "question-only"
            if template_name.startswith(FILE_PREFIX) and run.prompt_template:
                # A user's template file need not exist on this machine: render what the run recorded.
                template = template_from_text(
                    run.prompt_template, name=template_name, json_format=template_name.endswith(".json")
                )
            else:
                template = load_template(template_name)
            engine_options = EngineOptions.from_dict(run.sampling.get("engine_options"))
            engine_name, grader_name = run.engine, run.grader or "none"
            done = complete_problem_ids(
                session=session, run_id=run.id, problem_ids=unit.problem_ids, n=run.n_per_problem
            )
            todo = [p for p in problems_of_unit(session=session, unit=unit) if p.id not in done]
            problems = [(p.id, task_problem(p)) for p in todo]
            model_source = run.model.source or model_name
        heartbeat = _Heartbeat(self.sessions, unit, self.lease_s)
        heartbeat.start()
        try:
            if problems:
                engine = self._engine_for(engine_name, model_source, engine_options)
                grader = self._grader_for(grader_name)
                record_provenance(
                    session_factory=self.sessions,
                    run_id=unit.run_id,
                    facts={
                        "worker": self.owner,
                        "engine": engine.provenance(),
                        "grader": grader.name,
                        "grader_version": grader.version,
                    },
                )
                self._pipeline(unit, problems, engine, grader, config, template, heartbeat)
            if heartbeat.lost.is_set():
                raise LeaseLost(f"lost the lease of unit {unit.unit_id}")
            if self._stop.is_set() and problems:
                # Interrupted: hand the unit back now instead of waiting for the lease to expire.
                fail_unit(session_factory=self.sessions, unit=unit, error="interrupted", max_attempts=1 << 30)
                self.stats.interrupted = True
                return
            complete_unit(session_factory=self.sessions, unit=unit)
            self.stats.units += 1
        except LeaseLost as exc:
            log.warning("%s", exc)
            self.stats.errors.append(str(exc))
        except KeyboardInterrupt:
            self._stop.set()
            self.stats.interrupted = True
            fail_unit(session_factory=self.sessions, unit=unit, error="interrupted", max_attempts=1 << 30)
            raise
        except Exception as exc:
            log.exception("unit %s failed", unit.unit_id)
            self.stats.errors.append(f"unit {unit.unit_id}: {type(exc).__name__}: {exc}")
            fail_unit(session_factory=self.sessions, unit=unit, error=f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.stop()

    def _engine_for(self, name: str, model: str, options: EngineOptions) -> Engine:
        key = (name, model, repr(options.to_dict()))
        if self._engine_key != key:
            if self._engine is not None:
                self._engine.close()
            self._engine = self.engine_factory(name, model, options)
            self._engine_key = key
        assert self._engine is not None
        return self._engine

    def _grader_for(self, name: str) -> Grader:
        if name not in self._graders:
            self._graders[name] = self.grader_factory(name)
        return self._graders[name]

    def _pipeline(
        self,
        unit: ClaimedUnit,
        problems: list[tuple[int, TaskProblem]],
        engine: Engine,
        grader: Grader,
        config: SamplingConfig,
        template: Template,
        heartbeat: _Heartbeat,
    ) -> None:
        """Generate chunk i+1 while a second thread grades and writes chunk i."""
        per_chunk = max(1, self.chunk_samples // config.n)
        handoff: queue.Queue[_Chunk | None] = queue.Queue(maxsize=1)
        failure: list[BaseException] = []

        def grade_and_write() -> None:
            while True:
                chunk = handoff.get()
                if chunk is None:
                    return
                if failure:
                    continue
                try:
                    self._grade_and_write(chunk, grader)
                except BaseException as exc:
                    failure.append(exc)

        writer = threading.Thread(target=grade_and_write, name="coverscope-grader", daemon=True)
        writer.start()
        try:
            for start in range(0, len(problems), per_chunk):
                if self._stop.is_set() or heartbeat.lost.is_set() or failure:
                    break
                part = problems[start : start + per_chunk]
                prompts = [template.render(p) for _, p in part]
                seeds = [problem_seed(config.seed, p.key) for _, p in part]
                began = time.perf_counter()
                completions = engine.generate(prompts, config, seeds)
                self.stats.generate_s += time.perf_counter() - began
                handoff.put(_Chunk(unit, [p for _, p in part], [i for i, _ in part], completions))
        finally:
            handoff.put(None)
            writer.join()
        if failure:
            raise failure[0]

    def _grade_and_write(self, chunk: _Chunk, grader: Grader) -> None:
        began = time.perf_counter()
        grades = grader.grade(
            [(p, [c.text for c in cs]) for p, cs in zip(chunk.problems, chunk.completions, strict=True)]
        )
        self.stats.grade_s += time.perf_counter() - began
        rows: list[dict[str, Any]] = []
        tokens = 0
        for problem_id, completions, verdicts in zip(
            chunk.problem_ids, chunk.completions, grades, strict=True
        ):
            for index, (completion, grade) in enumerate(zip(completions, verdicts, strict=True)):
                tokens += completion.num_tokens or 0
                rows.append(
                    {
                        "run_id": chunk.unit.run_id,
                        "problem_id": problem_id,
                        "idx": index,
                        "text": completion.text,
                        "answer": grade.answer,
                        "verdict": grade.verdict,
                        "num_tokens": completion.num_tokens,
                        "finish_reason": completion.finish_reason,
                        "grader_detail": grade.detail,
                    }
                )
        write_samples_idempotent(session_factory=self.sessions, run_id=chunk.unit.run_id, rows=rows)
        self.stats.samples += len(rows)
        self.stats.tokens += tokens
        if self.on_progress:
            self.on_progress(len(rows), tokens)


class _Heartbeat:
    """Renews a unit's lease every third of its length in a background thread; sets `lost` when refused."""

    def __init__(self, sessions: sessionmaker[Session], unit: ClaimedUnit, lease_s: float) -> None:
        self.sessions = sessions
        self.unit = unit
        self.lease_s = lease_s
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="coverscope-lease", daemon=True)

    def start(self) -> None:
        """Begin renewing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing."""
        self._done.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._done.wait(self.lease_s / 3):
            try:
                if not renew_lease(session_factory=self.sessions, unit=self.unit, lease_s=self.lease_s):
                    self.lost.set()
                    return
            except Exception:
                log.warning("could not renew the lease of unit %s", self.unit.unit_id, exc_info=True)
