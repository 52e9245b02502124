"""The one settings object: every knob comes from the environment (prefix COVERSCOPE_) or a .env file."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    host: str = Field(default="127.0.0.1", description="Address `coverscope serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `coverscope serve` listens on.")
    api_tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens accepted for writes (and for reads when `api_read_requires_token`); "
        "a JSON list or a comma-separated string. With none set, every write is refused.",
    )
    api_read_requires_token: bool = Field(
        default=False, description="Require a bearer token for reads too (reads are open by default)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (CORS); a JSON list or comma-separated.",
    )

    @field_validator("api_tokens", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """Accept `a,b` as well as `["a","b"]` from the environment."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
