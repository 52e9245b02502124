"""The one settings object: every knob comes from the environment (prefix COVERSCOPE_) or a .env file."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Coverscope configuration; `COVERSCOPE_DATABASE_URL=postgresql+psycopg://...` for a shared store."""

    model_config = SettingsConfigDict(env_prefix="COVERSCOPE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./coverscope.db",
        description="Any SQLAlchemy URL; the default is an embedded SQLite file in the working directory.",
    )
    echo_sql: bool = Field(default=False, description="Log every SQL statement (debugging).")
    import_chunk_size: int = Field(
        default=5000, ge=1, description="Rows written per bulk insert when importing a file."
    )
    default_bootstrap: int = Field(default=1000, ge=2, description="Bootstrap resamples for curve intervals.")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
