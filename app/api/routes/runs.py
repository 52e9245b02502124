"""Runs: list and read them (with progress), queue new ones, cancel and delete them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.api.deps import SessionDep, WriteAccess
from app.api.routes.params import ROUTER_OPTIONS, IdPath, Limit, Offset
from app.api.schemas import Page, RunCreate, RunOut
from app.services import runs as run_service

router = APIRouter(tags=["runs"], **ROUTER_OPTIONS)


@router.get("/runs", response_model=Page[RunOut])
def list_runs(
    session: SessionDep,
    model: Annotated[str | None, Query(max_length=300, description="Model name.")] = None,
    benchmark: Annotated[str | None, Query(max_length=200, description="Benchmark name.")] = None,
    kind: Annotated[
        Literal["base", "rl", "sft", "distill", "instruct", "other"] | None, Query(description="Model kind.")
    ] = None,
    status: Annotated[
        Literal["queued", "running", "done", "failed", "cancelled"] | None, Query(description="Run status.")
    ] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[RunOut]:
    """Runs, newest first, with the progress of running ones; filters by model, benchmark, kind, status."""
    found, total = run_service.page_runs(
        session=session,
        model=model,
        benchmark=benchmark,
        kind=kind,
        status=status,
        offset=offset,
        limit=limit,
    )
    return Page[RunOut](items=[RunOut.of(r) for r in found], total=total, offset=offset, limit=limit)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: IdPath, session: SessionDep) -> RunOut:
    """One run with its progress."""
    return RunOut.of(run_service.get_run(session=session, run_id=run_id))


@router.post("/runs", response_model=RunOut, status_code=201, dependencies=[WriteAccess])
def create_run(body: RunCreate, session: SessionDep) -> RunOut:
    """Queue a sampling run for workers (`coverscope worker` anywhere picks it up); needs a token."""
    data = body.model_dump()
    data["stop"] = tuple(data["stop"])
    request = run_service.SamplingRequest(**data)
    return RunOut.of(run_service.create_sampling_run(session=session, request=request))


@router.post("/runs/{run_id}/cancel", response_model=RunOut, dependencies=[WriteAccess])
def cancel_run(run_id: IdPath, session: SessionDep) -> RunOut:
    """Cancel a queued or running run: no worker claims its units again; needs a token."""
    return RunOut.of(run_service.cancel_run(session=session, run_id=run_id))


@router.delete("/runs/{run_id}", status_code=204, response_class=Response, dependencies=[WriteAccess])
def delete_run(run_id: IdPath, session: SessionDep) -> Response:
    """Delete a run with its samples, counts, annotations and work units (cancel a live run first)."""
    run_service.delete_run(session=session, run_id=run_id)
    return Response(status_code=204)
