"""Annotations people gave samples."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.routes.params import ROUTER_OPTIONS, Limit, Offset
from app.api.schemas import MAX_ID, AnnotationOut, Page
from app.services import browse

router = APIRouter(tags=["annotations"], **ROUTER_OPTIONS)


@router.get("/annotations", response_model=Page[AnnotationOut])
def list_annotations(
    session: SessionDep,
    sample: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this sample's.")] = None,
    run: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only annotations of this run's samples.")
    ] = None,
    label: Annotated[
        Literal["valid_reasoning", "flawed_reasoning", "lucky_guess", "other"] | None,
        Query(description="Only this label."),
    ] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[AnnotationOut]:
    """Annotations, oldest first."""
    page = browse.list_annotations(
        session=session, sample_id=sample, run_id=run, label=label, offset=offset, limit=limit
    )
    return Page[AnnotationOut](
        items=[AnnotationOut.model_validate(a) for a in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )
