"""All HERALD_* settings, read once from the environment (pydantic-settings).

Derived defaults (demo data, embedded scheduler) follow the database: on with SQLite, off with
PostgreSQL, unless set explicitly.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLATFORM_KEYS = ("facebook", "instagram", "twitter", "linkedin", "tiktok", "youtube", "snapchat")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'herald.db'}"
    # PostgreSQL role the app switches to on every connection (no BYPASSRLS), so row-level
    # security applies even when ops connect with the owner's credentials. Empty disables it.
    database_role: str = "herald_app"
    secret_key: str | None = None
    data_dir: Path = PROJECT_ROOT / "data"
    platform_mode: Literal["sandbox", "live"] = "sandbox"
    demo: bool | None = None
    embedded_scheduler: bool | None = None
    log_level: str = "INFO"
    # Queue tunables (ops may change them): how long a claim is held without renewal, and how
    # long to wait after an unknown outcome before asking the network whether the post exists.
    queue_lease_seconds: int = Field(default=60, ge=2, le=3600)
    reconcile_delay_seconds: int = Field(default=20, ge=0, le=3600)
    # First retry after a transient failure waits base/2..base seconds, doubling per attempt (and
    # never before the network's own reset time); outages are handled by the circuit breaker.
    retry_base_seconds: float = Field(default=0.5, gt=0, le=3600)
    # Media of posts due within this many seconds is uploaded and processed ahead (Instagram
    # containers, Snapchat media, uploads to X, LinkedIn, YouTube, TikTok), so the post goes out
    # on time with its publishing call. 0: off.
    stage_ahead_seconds: int = Field(default=900, ge=0, le=82_800)
    # REST API: each token may make this many requests per minute on average, and up to
    # ``api_rate_limit_burst`` at once (a token bucket per token, per API process); 0 turns it off.
    api_rate_limit_per_minute: int = Field(default=600, ge=0, le=6_000_000)
    api_rate_limit_burst: int = Field(default=60, ge=1, le=1_000_000)
    sandbox_url: str | None = Field(
        default=None, description="Base URL of an out-of-process sandbox (e.g. http://127.0.0.1:8900)"
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "HERALD_DATABASE_URL must start with sqlite:/// or postgresql+psycopg://"
            )
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the driver we ship; plain URLs would make SQLAlchemy look for psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def demo_enabled(self) -> bool:
        return self.is_sqlite if self.demo is None else self.demo

    @property
    def embedded_scheduler_enabled(self) -> bool:
        return self.is_sqlite if self.embedded_scheduler is None else self.embedded_scheduler

    def platform_setting(self, platform: str, name: str) -> str | None:
        """HERALD_<PLATFORM>_<NAME>, e.g. platform_setting("twitter", "API_BASE")."""
        return os.environ.get(f"HERALD_{platform.upper()}_{name.upper()}") or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
