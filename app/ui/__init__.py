"""The Dash front end, mounted by `app.server.create_app` at `/`."""

from __future__ import annotations

import dash
from dash import html
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings


def create_dash_app(*, sessions: sessionmaker[Session], settings: Settings) -> dash.Dash:
    """The dashboard on `sessions`' store (its pages are built in app/ui/pages)."""
    dash_app = dash.Dash(__name__, title="Coverscope")
    dash_app.layout = html.Div("Coverscope")
    return dash_app
