"""Models with their lineage."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.api.routes.params import ROUTER_OPTIONS, IdPath, Limit, Offset
from app.api.schemas import ModelOut, Page
from app.core.errors import NotFoundError
from app.services import browse

router = APIRouter(tags=["models"], **ROUTER_OPTIONS)


@router.get("/models", response_model=Page[ModelOut])
def list_models(session: SessionDep, offset: Offset = 0, limit: Limit = 100) -> Page[ModelOut]:
    """Models by name, with base model and number of runs."""
    found = browse.list_models(session=session)
    items = [ModelOut.model_validate(m) for m in found[offset : offset + limit]]
    return Page[ModelOut](items=items, total=len(found), offset=offset, limit=limit)


@router.get("/models/{model_id}", response_model=ModelOut)
def get_model(model_id: IdPath, session: SessionDep) -> ModelOut:
    """One model with its lineage."""
    for model in browse.list_models(session=session):
        if model.id == model_id:
            return ModelOut.model_validate(model)
    raise NotFoundError("model", model_id)
