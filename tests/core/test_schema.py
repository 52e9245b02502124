"""The Alembic history and the ORM models agree, on SQLite and PostgreSQL; schema readiness checks."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from app.core.db import make_engine
from app.core.errors import DatabaseNotReadyError
from app.core.schema import current_revision, ensure_schema, head_revision, upgrade
from app.models import Base


def _differences(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_match_models(engine: Engine) -> None:
    """After `upgrade head`, autogenerate finds nothing to change."""
    assert current_revision(engine) == head_revision()
    assert _differences(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_and_upgrade_again(engine: Engine) -> None:
    """The history runs down to nothing and back up cleanly."""
    from alembic import command

    from app.core.schema import alembic_config

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert _differences(engine) == []


def test_ensure_schema_creates_an_empty_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        ensure_schema(engine)
        assert current_revision(engine) == head_revision()
        ensure_schema(engine)  # idempotent
    finally:
        engine.dispose()


def test_ensure_schema_refuses_a_foreign_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE somebody_elses (id INTEGER)"))
        with pytest.raises(DatabaseNotReadyError, match="somebody_elses"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_ensure_schema_refuses_a_database_from_a_newer_version(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    with pytest.raises(DatabaseNotReadyError, match="newer coverscope"):
        ensure_schema(engine)
