"""Runs: reading them and their per-problem counts, creating, cancelling and deleting them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from app.core.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from app.models import (
    Annotation,
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

LIVE = (RunStatus.queued, RunStatus.running)


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


def page_runs(
    *,
    session: Session,
    model: str | None = None,
    benchmark: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Run], int]:
    """A page of runs, newest first, filtered by model name, benchmark name, model kind and status; and
    how many runs match in all."""
    if offset < 0:
        raise InvalidInputError("must be 0 or more", field="offset")
    if not 1 <= limit <= 1000:
        raise InvalidInputError("must be between 1 and 1000", field="limit")
    conditions = []
    if model is not None:
        conditions.append(Model.name == model)
    if benchmark is not None:
        conditions.append(Benchmark.name == benchmark)
    if kind is not None:
        try:
            conditions.append(Model.kind == ModelKind(kind))
        except ValueError:
            valid = ", ".join(k.value for k in ModelKind)
            raise InvalidInputError(
                f"unknown model kind {kind!r}; valid kinds: {valid}", field="kind"
            ) from None
    if status is not None:
        try:
            conditions.append(Run.status == RunStatus(status))
        except ValueError:
            valid = ", ".join(s.value for s in RunStatus)
            raise InvalidInputError(f"unknown status {status!r}; valid: {valid}", field="status") from None
    joined = (
        select(Run.id).join(Model, Model.id == Run.model_id).join(Benchmark, Benchmark.id == Run.benchmark_id)
    )
    total = session.scalar(select(func.count()).select_from(joined.where(*conditions).subquery()))
    runs = session.scalars(
        select(Run)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .where(*conditions)
        .options(joinedload(Run.model).joinedload(Model.base_model), joinedload(Run.benchmark))
        .order_by(Run.id.desc())
        .offset(offset)
        .limit(limit)
    ).unique()
    return list(runs), int(total or 0)


def cancel_run(*, session: Session, run_id: int) -> Run:
    """Stop a queued or running run and commit: its status becomes cancelled and its unfinished work units
    are failed, so no worker claims them again; a worker holding a lease loses it at its next renewal.

    Cancelling a cancelled run changes nothing; a done or failed run cannot be cancelled (409).
    """
    run = get_run(session=session, run_id=run_id)
    if run.status is RunStatus.cancelled:
        return run
    if run.status not in LIVE:
        raise ConflictError(
            f"run {run_id} is {run.status.value}; only queued or running runs can be cancelled"
        )
    now = datetime.now(UTC)
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(LIVE))
        .values(status=RunStatus.cancelled, finished_at=now)
    )
    if result.rowcount != 1:  # a worker finished or failed it meanwhile
        session.rollback()
        raise ConflictError(f"run {run_id} finished before it could be cancelled")
    session.execute(
        update(WorkUnit)
        .where(
            WorkUnit.run_id == run_id, WorkUnit.status.in_((WorkUnitStatus.pending, WorkUnitStatus.leased))
        )
        .values(
            status=WorkUnitStatus.failed, lease_expires_at=None, last_error="run cancelled", updated_at=now
        )
    )
    session.commit()
    session.expire_all()
    return get_run(session=session, run_id=run_id)


def delete_run(*, session: Session, run_id: int) -> None:
    """Delete a run with its samples, problem_stat rows, annotations and work units, in one transaction.

    A queued or running run is refused (409): cancel it first, so that no worker is writing to it. Models
    and benchmarks stay (other runs may use them).
    """
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError("run", run_id)
    if run.status in LIVE:
        raise ConflictError(f"run {run_id} is {run.status.value}; cancel it before deleting it")
    samples = select(Sample.id).where(Sample.run_id == run_id)
    session.execute(delete(Annotation).where(Annotation.sample_id.in_(samples)))
    session.execute(delete(Sample).where(Sample.run_id == run_id))
    session.execute(delete(ProblemStat).where(ProblemStat.run_id == run_id))
    session.execute(delete(WorkUnit).where(WorkUnit.run_id == run_id))
    session.execute(delete(Run).where(Run.id == run_id))
    session.commit()
    session.expunge_all()


@dataclass(frozen=True)
class SamplingRequest:
    """What a sampling run is asked for (the CLI's `enqueue` options that make sense remotely)."""

    model: str
    benchmark: str
    n: int = 256
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 16384
    seed: int | None = 0
    template: str | None = None
    engine: str = "vllm"
    grader: str | None = None
    kind: str | None = None
    base_model: str | None = None
    revision: str | None = None
    base_url: str | None = None
    limit: int | None = None
    unit_size: int = 16
    stop: tuple[str, ...] = ()
    name: str | None = None
    engine_options: dict[str, Any] | None = None


ENGINES = ("vllm", "openai", "hf")
GRADERS = ("math", "code", "none")


def create_sampling_run(*, session: Session, request: SamplingRequest) -> Run:
    """Queue a run for workers: the benchmark is the stored one of that name (its problems in order), or
    else a benchmark the worker registry knows, loaded and stored now; commits and returns the run.

    Only built-in prompt templates are accepted here (a template file would be read on this machine).
    """
    from app.services.catalog import parse_model_kind
    from app.services.work import enqueue_run, sync_benchmark
    from worker.benchmarks import get_benchmark as registry_benchmark
    from worker.benchmarks import load_benchmark
    from worker.engines import EngineOptions, SamplingConfig
    from worker.prompts import TEMPLATES, template_text

    model_kind = parse_model_kind(request.kind)
    if request.engine not in ENGINES:
        raise InvalidInputError(
            f"unknown engine {request.engine!r}; valid: {', '.join(ENGINES)}", field="engine"
        )
    if request.engine == "openai" and not request.base_url:
        raise InvalidInputError("the openai engine needs base_url http://HOST:PORT/v1", field="base_url")
    if request.grader is not None and request.grader not in GRADERS:
        raise InvalidInputError(
            f"unknown grader {request.grader!r}; valid: {', '.join(GRADERS)}", field="grader"
        )
    if request.template is not None and request.template not in TEMPLATES:
        raise InvalidInputError(
            f"unknown template {request.template!r}; built-in templates: {', '.join(TEMPLATES)}",
            field="template",
        )
    for name, value, low in (
        ("n", request.n, 1),
        ("max_tokens", request.max_tokens, 1),
        ("unit_size", request.unit_size, 1),
    ):
        if value < low:
            raise InvalidInputError(f"must be at least {low}", field=name)
    if request.limit is not None and request.limit < 1:
        raise InvalidInputError("must be at least 1", field="limit")
    stored = session.scalar(select(Benchmark).where(Benchmark.name == request.benchmark))
    spec = None
    try:
        spec = registry_benchmark(request.benchmark)
    except InvalidInputError:
        if stored is None:
            raise NotFoundError("benchmark", request.benchmark) from None
    extra: dict[str, Any] = {}
    if stored is not None:
        problem_ids = list(
            session.scalars(
                select(Problem.id)
                .where(Problem.benchmark_id == stored.id)
                .order_by(Problem.position, Problem.id)
            )
        )[: request.limit]
        benchmark = stored
        domain = stored.domain
        if stored.content_hash:
            extra["benchmark_content_hash"] = stored.content_hash
    else:
        assert spec is not None
        try:
            loaded = load_benchmark(request.benchmark, limit=request.limit)
        except AppError:
            raise
        except Exception as exc:  # the hub or a package could not deliver it
            raise AppError(
                f"benchmark {request.benchmark!r} could not be loaded here ({type(exc).__name__}: {exc}); "
                "load it with `coverscope enqueue` on a machine that can reach its source",
                status_code=503,
            ) from exc
        benchmark, problem_ids = sync_benchmark(
            session=session,
            name=loaded.name,
            domain=loaded.domain,
            source=loaded.source,
            revision=loaded.revision,
            problems=loaded.problems,
        )
        domain = loaded.domain
        extra["benchmark_content_hash"] = loaded.content_hash
    template = request.template or (spec.default_template if spec else "question-only")
    grader = request.grader or (spec.default_grader if spec else ("code" if domain == "code" else "math"))
    sampling = SamplingConfig(
        n=request.n,
        temperature=request.temperature,
        top_p=request.top_p,
        max_tokens=request.max_tokens,
        seed=request.seed,
        stop=tuple(request.stop),
    ).to_dict()
    known = set(EngineOptions.__dataclass_fields__)
    options = {k: v for k, v in (request.engine_options or {}).items() if k in known}
    unknown = sorted(set(request.engine_options or {}) - known)
    if unknown:
        raise InvalidInputError(f"unknown engine option {unknown[0]!r}", field="engine_options")
    options.update(revision=request.revision, base_url=request.base_url)
    try:
        engine_options = EngineOptions(**options).to_dict()
    except TypeError as exc:
        raise InvalidInputError(str(exc), field="engine_options") from None
    run = enqueue_run(
        session=session,
        model=request.model,
        kind=model_kind,
        base_model=request.base_model,
        model_revision=request.revision,
        benchmark=benchmark,
        problem_ids=problem_ids,
        n=request.n,
        engine=request.engine,
        template=template,
        template_text=template_text(template),
        sampling={**sampling, **extra},
        engine_options=engine_options,
        grader=grader,
        unit_size=request.unit_size,
        name=request.name,
    )
    run.model.source = run.model.source or request.model
    run_id = run.id
    session.commit()
    return get_run(session=session, run_id=run_id)
