"""One error body for every 4xx/5xx the API answers: `{"error": {"status", "code", "message", "field"}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import AppError, InvalidInputError, NotFoundError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    500: "internal_error",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """What went wrong, for a person and for a program."""

    status: int = Field(description="The HTTP status code, repeated in the body.")
    code: str = Field(description="A stable machine-readable name for the kind of error, e.g. `not_found`.")
    message: str = Field(
        description="A sentence for a person: what was wrong and, where possible, what to do."
    )
    field: str | None = Field(default=None, description="The request field (query, path or body) at fault.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


# The error statuses every route documents (with the one error body), for `APIRouter(responses=...)`.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No bearer token, or not a valid one (the header WWW-Authenticate says so)."),
        (403, "Writes (or token-protected reads) are not enabled on this server."),
        (404, "The named thing does not exist; the message says which."),
        (409, "The request contradicts the store (e.g. deleting a running run)."),
        (422, "A request field is invalid; `field` names it."),
        (500, "An unexpected error; the server log has the details."),
        (503, "The store (or a benchmark source) is not available."),
    )
}


def error_response(status: int, message: str, *, field: str | None = None, headers=None) -> JSONResponse:
    """A JSON error response in the one shape."""
    body = ErrorBody(
        error=ErrorDetail(status=status, code=_CODES.get(status, "error"), message=message, field=field)
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_of(loc: tuple | list) -> str:
    """`("query", "k")` -> `k`; nested body fields joined with dots."""
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Map application errors, validation errors, HTTP errors and crashes to the one error shape."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        field = exc.field if isinstance(exc, InvalidInputError) else None
        if isinstance(exc, NotFoundError):
            field = None
        return error_response(exc.status_code, exc.message, field=field)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _field_of(first.get("loc", ()))
        message = (
            "; ".join(f"{_field_of(e.get('loc', ()))}: {e.get('msg')}" for e in errors) or "invalid request"
        )
        return error_response(422, message, field=field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (out of range, malformed); the request was at fault.
        log.info("database refused a value: %s", exc.orig)
        return error_response(422, f"a value is outside what the store can hold ({type(exc.orig).__name__})")

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details")
