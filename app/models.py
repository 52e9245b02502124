"""The whole store as SQLAlchemy 2.0 typed ORM classes (one place, portable types, every constraint named)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention every migration relies on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class ModelKind(enum.StrEnum):
    """How a checkpoint was made; lineage to its base model is `Model.base_model_id`."""

    base = "base"
    rl = "rl"
    sft = "sft"
    distill = "distill"
    instruct = "instruct"
    other = "other"


class RunStatus(enum.StrEnum):
    """Where a run is in its life."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class Verdict(enum.StrEnum):
    """A sample's grade; timeout and error are never correct."""

    correct = "correct"
    incorrect = "incorrect"
    timeout = "timeout"
    error = "error"
    ungraded = "ungraded"


class WorkUnitStatus(enum.StrEnum):
    """A work unit's state in the queue."""

    pending = "pending"
    leased = "leased"
    done = "done"
    failed = "failed"


class AnnotationLabel(enum.StrEnum):
    """What a person judged a trace to be."""

    valid_reasoning = "valid_reasoning"
    flawed_reasoning = "flawed_reasoning"
    lucky_guess = "lucky_guess"
    other = "other"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, no native PostgreSQL type."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Benchmark(Base):
    """A problem set at a fixed version."""

    __tablename__ = "benchmark"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domain: Mapped[str] = mapped_column(String(16), default="math")
    source: Mapped[str | None] = mapped_column(String(500))
    revision: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    problems: Mapped[list[Problem]] = relationship(back_populates="benchmark", passive_deletes=True)


class Problem(Base):
    """One problem of a benchmark; `key` is the benchmark's own id for it."""

    __tablename__ = "problem"
    __table_args__ = (UniqueConstraint("benchmark_id", "key"), Index(None, "benchmark_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    statement: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    tests: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    benchmark: Mapped[Benchmark] = relationship(back_populates="problems")


class Model(Base):
    """One checkpoint; `base_model_id` points at the model it was trained from."""

    __tablename__ = "model"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[ModelKind] = mapped_column(_enum(ModelKind, "model_kind"), default=ModelKind.other)
    source: Mapped[str | None] = mapped_column(String(500))
    revision: Mapped[str | None] = mapped_column(String(200))
    base_model_id: Mapped[int | None] = mapped_column(ForeignKey("model.id", ondelete="SET NULL"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    base_model: Mapped[Model | None] = relationship(remote_side=[id])


class Run(Base):
    """One model on one benchmark with one sampling configuration (or one imported result file)."""

    __tablename__ = "run"
    __table_args__ = (
        CheckConstraint("n_per_problem >= 1", name="n_positive"),
        Index(None, "benchmark_id", "model_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"), index=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    engine: Mapped[str] = mapped_column(String(32))
    prompt_template: Mapped[str | None] = mapped_column(Text)
    temperature: Mapped[float | None] = mapped_column(Float)
    top_p: Mapped[float | None] = mapped_column(Float)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    sampling: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_per_problem: Mapped[int] = mapped_column(Integer)
    has_samples: Mapped[bool] = mapped_column(Boolean, default=True)
    grader: Mapped[str | None] = mapped_column(String(100))
    grader_version: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus, "run_status"), default=RunStatus.queued)
    samples_done: Mapped[int] = mapped_column(BigInteger, default=0)
    samples_total: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    import_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    model: Mapped[Model] = relationship()
    benchmark: Mapped[Benchmark] = relationship()


class Sample(Base):
    """One generated solution, graded; (run, problem, index) is unique so every write is idempotent."""

    __tablename__ = "sample"
    __table_args__ = (
        UniqueConstraint("run_id", "problem_id", "idx"),
        Index(None, "run_id", "problem_id", "verdict"),
        Index(None, "problem_id"),
        CheckConstraint("idx >= 0", name="idx_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"), default=Verdict.ungraded)
    num_tokens: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    grader_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ProblemStat(Base):
    """Per (run, problem): graded samples `n`, `correct` among them, `errors` (timeout or error), `ungraded`.

    Written in the same transaction as the samples it counts; a counts-only run has these rows and no
    samples. `n` counts graded samples only (correct + incorrect + timeout + error), so pass@k never sees
    ungraded ones.
    """

    __tablename__ = "problem_stat"
    __table_args__ = (
        CheckConstraint("correct >= 0 AND correct <= n", name="correct_within_n"),
        CheckConstraint("errors >= 0 AND errors <= n", name="errors_within_n"),
        CheckConstraint("ungraded >= 0", name="ungraded_nonnegative"),
        Index(None, "problem_id"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    ungraded: Mapped[int] = mapped_column(Integer, default=0)


class Annotation(Base):
    """A person's label on a sample."""

    __tablename__ = "annotation"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(BigId, ForeignKey("sample.id", ondelete="CASCADE"), index=True)
    label: Mapped[AnnotationLabel] = mapped_column(_enum(AnnotationLabel, "annotation_label"))
    note: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkUnit(Base):
    """A slice of a run's problems (the run's start..stop-1th, ids in `problem_ids`) leased by one worker."""

    __tablename__ = "work_unit"
    __table_args__ = (
        UniqueConstraint("run_id", "start"),
        CheckConstraint("stop > start", name="nonempty_slice"),
        Index(None, "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    stop: Mapped[int] = mapped_column(Integer)
    problem_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[WorkUnitStatus] = mapped_column(
        _enum(WorkUnitStatus, "work_unit_status"), default=WorkUnitStatus.pending
    )
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
