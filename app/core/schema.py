"""Create and upgrade the store's schema with the Alembic history in `migrations/`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import migrations
from app.core.errors import DatabaseNotReadyError

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this version of the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database Alembic never touched."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (all steps run in one transaction on PostgreSQL)."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database; refuse, with the command to run, a database that is behind."""
    current = current_revision(engine)
    if current is None:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        if tables:
            raise DatabaseNotReadyError(
                f"the database at {engine.url.render_as_string(hide_password=True)} has tables "
                f"({', '.join(sorted(tables)[:5])}) but no coverscope schema version; "
                "point COVERSCOPE_DATABASE_URL at an empty database or one made by coverscope"
            )
        upgrade(engine)
        return
    head = head_revision()
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        raise DatabaseNotReadyError(
            f"the database is at schema revision {current}, which this coverscope does not know "
            f"(its newest is {head}): it was made by a newer coverscope; upgrade coverscope"
        )
    if current != head:
        raise DatabaseNotReadyError(
            f"the database is at schema revision {current}, this coverscope needs {head}: "
            "run `coverscope db upgrade`"
        )
