"""The `/api/v1` router: every API route is included here."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app import __version__
from app.api.routes import analysis, annotations, benchmarks, imports, models, problems, runs, samples

router = APIRouter()


class Health(BaseModel):
    """The server is up and this is its version."""

    status: str = Field(description="Always `ok` when the server answers.")
    version: str = Field(description="The Coverscope version serving the API.")


@router.get("/health", response_model=Health, tags=["meta"])
def health() -> Health:
    """Liveness check: the server answers."""
    return Health(status="ok", version=__version__)


for module in (benchmarks, models, runs, problems, samples, annotations, analysis, imports):
    router.include_router(module.router)
