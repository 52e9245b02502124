"""API test fixtures: the seeded store and ASGI clients on it with chosen settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.server import create_app
from tests.api.seed import SeededStore, seed_store

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> SeededStore:
    """The seeded store (tests/api/seed.py)."""
    return seed_store(sessions)


@pytest.fixture
def make_client(database_url: str, sessions: sessionmaker[Session]) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient on the test store with settings overrides (tokens, read rules, CORS)."""
    clients: list[TestClient] = []

    def build(**overrides) -> TestClient:
        settings = Settings(_env_file=None, database_url=database_url, **overrides)
        client = TestClient(create_app(settings, sessions, dashboard=False), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client on a server with one write token; reads open."""
    return make_client(api_tokens=[TOKEN])
