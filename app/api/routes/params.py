"""Parameter types shared by the routers: ids, paging, run lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from app.api.deps import ReadAccess, storable_query
from app.api.errors import ERROR_RESPONSES
from app.api.schemas import MAX_ID

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Id.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Index of the first item to return.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="The most items to return.")]
RunId = Annotated[int, Query(ge=1, le=MAX_ID, description="A run id.")]
OptionalRunIds = Annotated[
    list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None,
    Query(max_length=100, description="Run ids (repeat the parameter: runs=1&runs=2)."),
]

# Every router: reads checked against the token rules, no unstorable text in the query, errors documented.
ROUTER_OPTIONS = {
    "dependencies": [ReadAccess, Depends(storable_query)],
    "responses": ERROR_RESPONSES,
}
