"""The Dash app factory: pages, assets and callbacks, also with several dashboards in one process."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.core.schema import upgrade
from app.ui import create_dash_app, store


def _factory(path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return make_session_factory(engine)


def _layout_of(client, path: str) -> str:
    """The page layout the router callback returns for `path` (as JSON text)."""
    body = {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path.split("?")[0]},
            {
                "id": "_pages_location",
                "property": "search",
                "value": "?" + path.split("?")[1] if "?" in path else "",
            },
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.text
    return response.get_data(as_text=True)


def test_two_dashboards_in_one_process_each_have_every_callback_and_their_own_store(tmp_path):
    first_sessions = _factory(tmp_path / "one.db")
    second_sessions = _factory(tmp_path / "two.db")
    first = create_dash_app(sessions=first_sessions, settings=Settings())
    second = create_dash_app(sessions=second_sessions, settings=Settings())
    ids = []
    for app in (first, second):
        client = app.server.test_client()
        assert client.get("/").status_code == 200
        deps = json.loads(client.get("/_dash-dependencies").get_data(as_text=True))
        outputs = " ".join(d["output"] for d in deps)
        for needed in (
            "runs-grid.rowData",
            "curves-graph.figure",
            "coverage-tiles.children",
            "problem-samples.rowData",
            "trace-annotation-list.children",
            "copy-link.content",
        ):
            assert needed in outputs, needed
        ids.append(app.server.config[store._CONFIG_KEY])
        # an empty store gives the newcomer's notice, not an error
        assert "There are no runs in this store yet" in _layout_of(client, "/curves")
        assert "problem 123 not found" in _layout_of(client, "/problem?id=123")
    assert ids == [first_sessions, second_sessions]


def test_assets_come_from_the_static_folder(tmp_path):
    app = create_dash_app(sessions=_factory(tmp_path / "s.db"), settings=Settings())
    html = app.server.test_client().get("/").get_data(as_text=True)
    assert "bootstrap.min.css" in html and "coverscope.css" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html  # everything is served locally
    css = app.server.test_client().get("/vendor/bootstrap.min.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert b"Bootstrap" in css.data[:200] and b".btn" in css.data
