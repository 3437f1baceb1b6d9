"""Settings: production refuses a weak admin token; URLs are normalised for each driver."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.core.settings import Settings, to_asyncpg_url, to_psycopg_url


@pytest.mark.parametrize("token", ["", "short", "changeme", "admin"])
def test_production_refuses_a_short_or_well_known_admin_token(token: str) -> None:
    with pytest.raises(ValidationError, match="HANDOVER_ADMIN_TOKEN"):
        Settings(env="production", admin_token=token)


PRODUCTION_SECRETS: dict[str, object] = {
    "session_secret": "s" * 32,
    "webhook_key": "w" * 32,
    "sheet_key": "k" * 32,
}


def production(**given: object) -> Settings:
    """Settings as HANDOVER_ENV=production loads them, from keyword values (untyped on purpose)."""
    return Settings.model_validate({"env": "production", **given})


def test_production_accepts_a_long_random_token_and_development_anything() -> None:
    settings = production(admin_token="x" * 32, **PRODUCTION_SECRETS)
    assert settings.admin_token is not None
    assert Settings(env="development", admin_token="admin").admin_token is not None


@pytest.mark.parametrize("unset", ["session_secret", "webhook_key", "sheet_key"])
def test_production_refuses_to_load_without_the_shared_secrets(unset: str) -> None:
    given = {k: v for k, v in PRODUCTION_SECRETS.items() if k != unset}
    name = f"HANDOVER_{unset.upper()}"
    with pytest.raises(ValidationError, match=f"{name} must be set when HANDOVER_ENV=production"):
        production(**given)
    with pytest.raises(ValidationError, match=name):
        production(**given, **{unset: " "})


def test_unprefixed_database_and_broker_urls_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("HANDOVER_BROKER_URL", "redis://h:6379/0")
    settings = Settings()
    assert settings.async_database_url == "postgresql+asyncpg://u@h/db"
    assert settings.broker_url == "redis://h:6379/0"


def test_driver_urls() -> None:
    assert to_asyncpg_url("postgresql+psycopg://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert to_psycopg_url("postgresql+asyncpg://u@/db?host=/tmp") == "postgresql://u@/db?host=/tmp"
    with pytest.raises(ValueError, match="unsupported"):
        to_asyncpg_url("mysql://u@h/db")
