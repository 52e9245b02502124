"""The one ASGI application: the API under `/api/v1`, its docs at `/api/docs`, the dashboard at `/`."""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Match

from app import __version__
from app.api.errors import error_response, install_error_handlers
from app.api.router import router as api_router
from app.core.config import Settings, get_settings
from app.core.db import make_engine, make_session_factory
from app.core.schema import ensure_schema

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    sessions: sessionmaker[Session] | None = None,
    *,
    dashboard: bool = True,
) -> FastAPI:
    """The API (and, unless `dashboard=False`, the Dash front end) on one store."""
    settings = settings or get_settings()
    if sessions is None:
        engine = make_engine(settings.database_url, echo=settings.echo_sql)
        ensure_schema(engine)
        sessions = make_session_factory(engine)

    app = FastAPI(
        title="Coverscope API",
        version=__version__,
        description="pass@k curves, coverage, problems, samples and annotations of a Coverscope store.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.sessions = sessions
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(api_router, prefix=API_PREFIX)

    @app.api_route(
        "/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown_api_path(path: str, request: Request):
        """Unknown API paths are a 404 in the error shape, not the dashboard's page; a known path asked
        with the wrong method is a 405 naming the allowed ones."""
        allowed = sorted(
            {
                method
                for route in app.routes
                if isinstance(route, APIRoute) and route.matches(request.scope)[0] is Match.PARTIAL
                for method in route.methods
            }
        )
        if allowed:
            return error_response(
                405,
                f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        return error_response(404, f"no API endpoint at {request.url.path}")

    if dashboard:
        from app.ui import create_dash_app

        dash_app = create_dash_app(sessions=sessions, settings=settings)
        app.mount("/", WSGIMiddleware(dash_app.server))
    return app
