"""Runtime settings: where the database, the data and the live config live.

Read once from the environment (and a ``.env`` file if present); never stored in a policy
and never hard-coded elsewhere. Variables: ``DATABASE_URL`` (PostgreSQL or SQLite URL),
``MEMBERLAB_DATA_DIR`` (working files: the embedded database, scenarios, published history),
``MEMBERLAB_PUBLISH_TARGET`` (the live config file the loyalty system reads).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """MemberLab runtime settings."""

    model_config = SettingsConfigDict(env_prefix="MEMBERLAB_", env_file=".env", extra="ignore")

    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "MEMBERLAB_DATABASE_URL")
    )
    publish_target: Path | None = None
    cluster: str | None = None
    """Dask scheduler address sweeps and searches run on (``MEMBERLAB_CLUSTER``); none = local."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL: ``DATABASE_URL`` if set, else a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'memberlab.sqlite').as_posix()}"

    @property
    def resolved_publish_target(self) -> Path:
        """The live config file: ``MEMBERLAB_PUBLISH_TARGET`` or ``<data_dir>/live/policy.json``."""
        return self.publish_target or (self.data_dir / "live" / "policy.json")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings read from the environment (cached; tests call ``cache_clear()``)."""
    return Settings()
