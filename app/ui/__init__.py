"""The Dash front end, mounted by `app.server.create_app` at `/`.

One file per page in `app/ui/pages/` (registered with `dash.register_page`, callbacks with
`dash.callback`); our own assets come from the top-level `static/` folder (installed as `app/ui/static`
in a wheel), Bootstrap's stylesheet from the `bootstrap-flask` package, so everything is served locally.
Callbacks reach the store through `app.ui.store`, never through the HTTP API.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, _callback, dcc, html
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.ui import store

PAGES_DIR = Path(__file__).resolve().parent / "pages"
# A source checkout has the top-level static/; a wheel carries the same files as app/ui/static.
STATIC_DIRS = (Path(__file__).resolve().parent / "static", Path(__file__).resolve().parents[2] / "static")
BOOTSTRAP_URL = "/vendor/bootstrap.min.css"

NAV = (
    ("Runs", "/"),
    ("Curves", "/curves"),
    ("Coverage", "/coverage"),
    ("Problem", "/problem"),
    ("Trace", "/trace"),
)

# Dash keeps `dash.callback` registrations and the page registry in module globals and hands them to the
# first app that serves a request; creating apps one at a time and claiming the callbacks at once makes
# several dashboards in one process (tests) each get the full set.
_creation_lock = threading.Lock()


def _claim_page_callbacks(dash_app: dash.Dash) -> None:
    """Move the callbacks the page modules just registered globally into `dash_app`."""
    dash_app.callback_map.update(_callback.GLOBAL_CALLBACK_MAP)
    _callback.GLOBAL_CALLBACK_MAP.clear()
    dash_app._callback_list.extend(_callback.GLOBAL_CALLBACK_LIST)
    _callback.GLOBAL_CALLBACK_LIST.clear()
    dash_app._inline_scripts.extend(_callback.GLOBAL_INLINE_SCRIPTS)
    _callback.GLOBAL_INLINE_SCRIPTS.clear()


def assets_folder() -> Path | None:
    """Our `static/` assets (installed copy first, then the source checkout), or None where neither exists."""
    return next((path for path in STATIC_DIRS if path.is_dir()), None)


def bootstrap_css() -> Path:
    """Bootstrap 5's minified stylesheet as shipped by the bootstrap-flask package."""
    spec = importlib.util.find_spec("flask_bootstrap")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the dashboard needs the bootstrap-flask package (pip install bootstrap-flask)")
    return Path(spec.submodule_search_locations[0]) / "static" / "bootstrap5" / "css" / "bootstrap.min.css"


def navbar() -> dbc.Navbar:
    """The top bar: product name, one link per page, and the copy-link button."""
    links = [
        dbc.NavItem(dbc.NavLink(name, href=path, active="exact", id=f"nav-{name.lower()}"))
        for name, path in NAV
    ]
    copy = dcc.Clipboard(
        id="copy-link",
        title="Copy a link to exactly this view",
        children=html.Span("Copy link"),
        copied_children=html.Span("✓ Link copied", className="copy-link-done"),
        className="btn btn-outline-light btn-sm copy-link",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Span("◔", className="brand-mark"), "Coverscope"], href="/", className="fw-semibold"
                ),
                dbc.Nav(links, navbar=True, className="me-auto"),
                copy,
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3 py-2",
    )


def create_dash_app(*, sessions: sessionmaker[Session], settings: Settings) -> dash.Dash:
    """The dashboard on `sessions`' store (its pages are built in app/ui/pages)."""
    assets = assets_folder()
    with _creation_lock:
        dash_app = dash.Dash(
            __name__,
            title="Coverscope",
            update_title=None,
            use_pages=True,
            pages_folder=str(PAGES_DIR),
            assets_folder=str(assets) if assets else str(PAGES_DIR / "_no_assets"),
            include_assets_files=assets is not None,
            suppress_callback_exceptions=True,
            serve_locally=True,
            external_stylesheets=[BOOTSTRAP_URL],
        )
        _claim_page_callbacks(dash_app)
    stylesheet = bootstrap_css()

    @dash_app.server.route(BOOTSTRAP_URL)
    def _bootstrap_stylesheet() -> flask.Response:
        return flask.send_file(stylesheet, mimetype="text/css", max_age=86400)

    store.configure(dash_app.server, sessions)
    dash_app.server.config["COVERSCOPE_SETTINGS"] = settings
    dash_app.layout = html.Div(
        [navbar(), dbc.Container(dash.page_container, fluid=True, className="pb-5 page-body")],
        className="app-shell",
    )
    dash_app.clientside_callback(
        "function(n) { return window.location.href; }",
        Output("copy-link", "content"),
        Input("copy-link", "n_clicks"),
        prevent_initial_call=True,
    )
    return dash_app
