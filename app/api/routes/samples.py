"""Samples (paged), one sample in full, and annotating a sample."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import SessionDep, WriteAccess
from app.api.routes.params import ROUTER_OPTIONS, IdPath, Limit, Offset
from app.api.schemas import MAX_ID, AnnotationCreate, AnnotationOut, Page, SampleOut, SampleRowOut
from app.services import browse

router = APIRouter(tags=["samples"], **ROUTER_OPTIONS)


@router.get("/samples", response_model=Page[SampleRowOut])
def list_samples(
    session: SessionDep,
    run: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this run's samples.")] = None,
    problem: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this problem's samples.")] = None,
    verdict: Annotated[
        Literal["correct", "incorrect", "timeout", "error", "ungraded"] | None,
        Query(description="Only this verdict."),
    ] = None,
    answer: Annotated[str | None, Query(max_length=10_000, description="Only this extracted answer.")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[SampleRowOut]:
    """Samples in (run, problem position, index) order with a preview of their text."""
    page = browse.list_samples(
        session=session,
        run_id=run,
        problem_id=problem,
        verdict=verdict,
        answer=answer,
        offset=offset,
        limit=limit,
    )
    return Page[SampleRowOut](
        items=[SampleRowOut.model_validate(s) for s in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get("/samples/{sample_id}", response_model=SampleOut)
def get_sample(sample_id: IdPath, session: SessionDep) -> SampleOut:
    """A sample in full with its gold answer, annotations and neighbours in the run."""
    return SampleOut.model_validate(browse.get_sample(session=session, sample_id=sample_id))


@router.post(
    "/samples/{sample_id}/annotations",
    response_model=AnnotationOut,
    status_code=201,
    dependencies=[WriteAccess],
)
def annotate_sample(sample_id: IdPath, body: AnnotationCreate, session: SessionDep) -> AnnotationOut:
    """Label a sample (valid_reasoning, flawed_reasoning, lucky_guess, other); needs a token."""
    row = browse.annotate(
        session=session, sample_id=sample_id, label=body.label, note=body.note, author=body.author
    )
    return AnnotationOut.model_validate(row)
