"""Benchmarks, models and problems: find or create them, with the consistency rules of the store."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.models import Benchmark, Model, ModelKind, Problem


def parse_model_kind(kind: str | None, *, field: str = "kind") -> ModelKind | None:
    """`kind` as a ModelKind, or a clear error listing the valid kinds."""
    if kind is None:
        return None
    try:
        return ModelKind(kind.lower())
    except ValueError:
        valid = ", ".join(k.value for k in ModelKind)
        raise InvalidInputError(f"unknown model kind {kind!r}; valid kinds: {valid}", field=field) from None


def get_or_create_benchmark(
    *, session: Session, name: str, source: str | None = None, domain: str | None = None
) -> Benchmark:
    """The benchmark called `name`, created if new."""
    if not name or not name.strip():
        raise InvalidInputError("a benchmark name is required", field="benchmark")
    benchmark = session.scalar(select(Benchmark).where(Benchmark.name == name))
    if benchmark is None:
        benchmark = Benchmark(name=name, source=source, domain=domain or "math")
        session.add(benchmark)
        session.flush()
    elif source and not benchmark.source:
        benchmark.source = source
    return benchmark


def get_or_create_model(
    *,
    session: Session,
    name: str,
    kind: ModelKind | None = None,
    base_model: str | None = None,
    source: str | None = None,
    revision: str | None = None,
) -> Model:
    """The model called `name`, created if new; kind and lineage given here must agree with what is stored."""
    if not name or not name.strip():
        raise InvalidInputError("a model name is required", field="model")
    if base_model is not None and base_model == name:
        raise InvalidInputError(f"model {name!r} cannot be its own base model", field="base_model")
    model = session.scalar(select(Model).where(Model.name == name))
    base = None
    if base_model is not None:
        base = session.scalar(select(Model).where(Model.name == base_model))
        if base is None:
            base = Model(name=base_model, kind=ModelKind.base)
            session.add(base)
            session.flush()
    if model is None:
        model = Model(
            name=name,
            kind=kind or ModelKind.other,
            base_model_id=base.id if base else None,
            source=source,
            revision=revision,
        )
        session.add(model)
        session.flush()
        return model
    if kind is not None and kind != model.kind:
        if model.kind != ModelKind.other:
            raise ConflictError(
                f"model {name!r} is stored with kind {model.kind.value!r}, not {kind.value!r}"
            )
        model.kind = kind
    if base is not None and model.base_model_id not in (None, base.id):
        stored = session.get(Model, model.base_model_id)
        raise ConflictError(
            f"model {name!r} is stored with base model {stored.name if stored else '?'!r}, not {base_model!r}"
        )
    if base is not None:
        model.base_model_id = base.id
    return model


def fill_problem(
    problem: Problem, *, statement: str | None, answer: str | None, tests: str | None, meta: dict | None
) -> str | None:
    """Fill a stored problem's missing fields from a newer description of it.

    Returns the name of the first field the description contradicts (nothing is changed then), or None.
    Metadata is merged, keeping what is stored.
    """
    given = {"statement": statement, "answer": answer, "tests": tests}
    for field, new in given.items():
        old = getattr(problem, field)
        if new is not None and old is not None and old != new:
            return field
    for field, new in given.items():
        if new is not None and getattr(problem, field) is None:
            setattr(problem, field, new)
    if meta:
        problem.meta = {**meta, **(problem.meta or {})}
    return None


def get_model(*, session: Session, name: str) -> Model:
    """The model called `name`, or NotFoundError."""
    model = session.scalar(select(Model).where(Model.name == name))
    if model is None:
        raise NotFoundError("model", name)
    return model


def problem_ids_by_key(
    *, session: Session, benchmark_id: int, keys: Iterable[str] | None = None
) -> dict[str, int]:
    """Map problem key -> id for a benchmark (all of its problems, or just `keys`)."""
    query = select(Problem.key, Problem.id).where(Problem.benchmark_id == benchmark_id)
    if keys is not None:
        keys = list(keys)
        if not keys:
            return {}
        query = query.where(Problem.key.in_(keys))
    return {key: ident for key, ident in session.execute(query)}


def next_problem_position(*, session: Session, benchmark_id: int) -> int:
    """The position a problem appended to the benchmark gets."""
    last = session.scalar(select(func.max(Problem.position)).where(Problem.benchmark_id == benchmark_id))
    return 0 if last is None else last + 1


def insert_problems(*, session: Session, benchmark_id: int, rows: list[dict]) -> dict[str, int]:
    """Bulk-insert new problems (dicts with key, statement, answer, tests, meta); returns key -> id."""
    if not rows:
        return {}
    start = next_problem_position(session=session, benchmark_id=benchmark_id)
    values = [
        {
            "benchmark_id": benchmark_id,
            "position": start + i,
            "key": row["key"],
            "statement": row.get("statement"),
            "answer": row.get("answer"),
            "tests": row.get("tests"),
            "meta": row.get("meta") or {},
        }
        for i, row in enumerate(rows)
    ]
    session.execute(insert(Problem), values)
    return problem_ids_by_key(session=session, benchmark_id=benchmark_id, keys=[r["key"] for r in rows])
