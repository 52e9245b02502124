"""Benchmarks, their metadata facets and their problems."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.routes.params import ROUTER_OPTIONS, IdPath, Limit, Offset, OptionalRunIds
from app.api.schemas import MAX_ID, BenchmarkOut, EvidenceOut, Page, ProblemRowOut, RunCellOut
from app.core.errors import InvalidInputError
from app.services import browse

router = APIRouter(tags=["benchmarks"], **ROUTER_OPTIONS)


@router.get("/benchmarks", response_model=Page[BenchmarkOut])
def list_benchmarks(session: SessionDep, offset: Offset = 0, limit: Limit = 100) -> Page[BenchmarkOut]:
    """Benchmarks by name, with their number of problems and metadata keys."""
    found = browse.list_benchmarks(session=session)
    items = [BenchmarkOut.model_validate(b) for b in found[offset : offset + limit]]
    return Page[BenchmarkOut](items=items, total=len(found), offset=offset, limit=limit)


@router.get("/benchmarks/{benchmark_id}", response_model=BenchmarkOut)
def get_benchmark(benchmark_id: IdPath, session: SessionDep) -> BenchmarkOut:
    """One benchmark."""
    return BenchmarkOut.model_validate(browse.get_benchmark(session=session, benchmark_id=benchmark_id))


@router.get("/benchmarks/{benchmark_id}/facets", response_model=dict[str, list[str]])
def get_facets(benchmark_id: IdPath, session: SessionDep) -> dict[str, list[str]]:
    """Distinct values of each scalar metadata key (subject, level, ...), sorted naturally."""
    return browse.meta_facets(session=session, benchmark_id=benchmark_id)


def problem_row_out(row: browse.ProblemRow) -> ProblemRowOut:
    """The response for a problem row (run ids as JSON object keys)."""
    return ProblemRowOut(
        id=row.id,
        key=row.key,
        position=row.position,
        meta=row.meta,
        answer=row.answer,
        per_run={str(k): RunCellOut.model_validate(v) for k, v in row.per_run.items()},
        evidence=EvidenceOut.model_validate(row.evidence) if row.evidence else None,
    )


def _meta_filters(meta: list[str] | None) -> dict[str, str] | None:
    if not meta:
        return None
    out = {}
    for item in meta:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"{item!r} is not KEY=VALUE (e.g. subject=Algebra)", field="meta")
        out[key] = value
    return out


@router.get("/benchmarks/{benchmark_id}/problems", response_model=Page[ProblemRowOut])
def list_problems(
    benchmark_id: IdPath,
    session: SessionDep,
    runs: OptionalRunIds = None,
    meta: Annotated[
        list[str] | None,
        Query(max_length=20, description="KEY=VALUE metadata filters, e.g. subject=Algebra."),
    ] = None,
    search: Annotated[str | None, Query(max_length=500, description="Text in the key or statement.")] = None,
    a: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Coverage filter: run A.")] = None,
    b: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Coverage filter: run B.")] = None,
    k: Annotated[int | None, Query(ge=1, le=1_000_000, description="Coverage filter: the k.")] = None,
    which: Annotated[
        Literal["both", "only_a", "only_b", "neither"] | None,
        Query(description="Coverage filter: which set to keep."),
    ] = None,
    threshold: Annotated[float, Query(gt=0, le=1, description="Solved means pass@k >= threshold.")] = 0.5,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[ProblemRowOut]:
    """A benchmark's problems in position order with per-run counts; filters by metadata, text and
    coverage (give a, b, k and which together: e.g. which=only_a keeps the problems solved by A, not B)."""
    coverage = None
    given = {"a": a, "b": b, "k": k, "which": which}
    if any(v is not None for v in given.values()):
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise InvalidInputError("a coverage filter needs a, b, k and which together", field=missing[0])
        coverage = browse.CoverageFilter(a=a, b=b, k=k, which=which, threshold=threshold)
    page = browse.list_problems(
        session=session,
        benchmark_id=benchmark_id,
        run_ids=runs or (),
        meta=_meta_filters(meta),
        coverage=coverage,
        search=search or None,
        offset=offset,
        limit=limit,
    )
    return Page[ProblemRowOut](
        items=[problem_row_out(r) for r in page.items], total=page.total, offset=offset, limit=limit
    )
