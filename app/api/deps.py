"""Dependencies shared by the API routes: the settings, a database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings


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
