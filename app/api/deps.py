"""Dependencies shared by the API routes: the settings, a database session per request, token checks."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.errors import InvalidInputError


def get_settings_dep(request: Request) -> Settings:
    """The settings the application was created with."""
    return request.app.state.settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The session factory the application was created with."""
    return request.app.state.sessions


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; writes commit in the service or route, anything else rolls back."""
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


bearer = HTTPBearer(
    auto_error=False,
    description="A token of COVERSCOPE_API_TOKENS: required for writes, and for reads when "
    "COVERSCOPE_API_READ_REQUIRES_TOKEN is set.",
)
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token_ok(given: str, tokens: list[str]) -> bool:
    """Constant-time comparison against every configured token (no early exit on a match)."""
    supplied = given.encode()
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(supplied, token.encode())
    return ok


def _check_token(credentials: HTTPAuthorizationCredentials | None, settings: Settings, action: str) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            status_code=401,
            detail=f"{action} needs a bearer token: send `Authorization: Bearer TOKEN`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not _token_ok(credentials.credentials, settings.api_tokens):
        raise HTTPException(
            status_code=401,
            detail="the bearer token is not one of COVERSCOPE_API_TOKENS",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


def require_read(credentials: CredentialsDep, settings: SettingsDep) -> None:
    """Reads are open unless `api_read_requires_token`; then they need a valid bearer token."""
    if settings.api_read_requires_token:
        if not settings.api_tokens:
            raise HTTPException(
                status_code=403,
                detail="reads require a token but no COVERSCOPE_API_TOKENS are configured on the server",
            )
        _check_token(credentials, settings, "reading")


def require_write(credentials: CredentialsDep, settings: SettingsDep) -> None:
    """Writes need a valid bearer token; with no tokens configured every write is refused (403)."""
    if not settings.api_tokens:
        raise HTTPException(
            status_code=403,
            detail="writes are disabled on this server: set COVERSCOPE_API_TOKENS to allow them",
        )
    _check_token(credentials, settings, "writing")


def storable_query(request: Request) -> None:
    """Refuse query and path values no database can store (NUL, lone surrogates) with a 422 naming them."""
    values = [*request.query_params.multi_items(), *request.path_params.items()]
    for name, value in values:
        if isinstance(value, str) and ("\x00" in value or not _encodable(value)):
            raise InvalidInputError("must not contain NUL characters or invalid Unicode", field=name)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


ReadAccess = Depends(require_read)
WriteAccess = Depends(require_write)
