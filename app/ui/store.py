"""The store the dashboard's callbacks read: one session factory per Dash app, found through Flask.

Dash's page registry and `dash.callback` are process-global, but each `create_dash_app` call binds its own
session factory to its own Flask server, so several dashboards on different stores can live in one
process (as they do in tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flask
from sqlalchemy.orm import Session, sessionmaker

_CONFIG_KEY = "COVERSCOPE_SESSIONS"
_fallback: sessionmaker[Session] | None = None


def configure(server: flask.Flask, sessions: sessionmaker[Session]) -> None:
    """Bind `sessions` to a Dash app's Flask `server` (and make it the fallback outside a request)."""
    global _fallback
    server.config[_CONFIG_KEY] = sessions
    _fallback = sessions


def session_factory() -> sessionmaker[Session]:
    """The session factory of the dashboard serving the current request (or the last one configured)."""
    if flask.has_app_context():
        sessions = flask.current_app.config.get(_CONFIG_KEY)
        if sessions is not None:
            return sessions
    if _fallback is None:
        raise RuntimeError("the dashboard's store is not configured (call app.ui.store.configure)")
    return _fallback


@contextmanager
def session() -> Iterator[Session]:
    """A session on the dashboard's store for one callback; closed (and rolled back if uncommitted) after."""
    with session_factory()() as opened:
        yield opened
