"""The one settings object of the service (environment, prefix ``HANDOVER_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WELL_KNOWN_TOKENS = frozenset(
    {"admin", "changeme", "change-me", "secret", "password", "token", "test", "development"}
)
MIN_PRODUCTION_TOKEN_LENGTH = 24


class Settings(BaseSettings):
    """Configuration read from the environment; unprefixed DATABASE_URL/BROKER_URL win."""

    model_config = SettingsConfigDict(env_prefix="HANDOVER_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "HANDOVER_DATABASE_URL")
    )
    broker_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BROKER_URL", "HANDOVER_BROKER_URL")
    )
    admin_token: SecretStr | None = None
    # Signs /ui session cookies; required in production, development generates it into data_dir.
    session_secret: SecretStr | None = None
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path(".data")
    log_level: str = "INFO"
    enqueue_enabled: bool = True
    rate_limit_per_minute: int = Field(default=6000, ge=0)  # per API key; 0 disables
    # Webhooks (issue 14): the key that encrypts endpoint secrets (required in production;
    # development: generated into data_dir), hosts exempt from the production address check,
    # the retry schedule override.
    webhook_key: SecretStr | None = None
    webhook_allowed_hosts: str = ""  # comma separated host names
    webhook_retry_delays: str = ""  # seconds, comma separated; empty: the documented schedule
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_concurrency_per_endpoint: int = Field(default=4, ge=1, le=64)
    webhook_metrics_port: int | None = Field(default=None, ge=1, le=65535)  # worker's /metrics
    # The MLLP listener (`handover mllp`): HL7 v2 over TCP; limits against a hostile sender.
    mllp_host: str = "127.0.0.1"
    mllp_port: int = Field(default=2575, ge=1, le=65535)
    mllp_max_message_bytes: int = Field(default=1_048_576, ge=1024)
    mllp_idle_timeout_s: float = Field(default=300.0, gt=0)
    mllp_max_connections: int = Field(default=64, ge=1)
    mllp_max_connections_per_address: int = Field(default=8, ge=1)
    # Authenticated hospital channels (docs/interop.md): hospital id -> source addresses or
    # networks (JSON, e.g. {"4610000001": ["10.1.2.0/24"]}); TLS with client certificates whose
    # subject CN is the hospital's id; with `mllp_require_channel` a hospital that has neither
    # may not send over MLLP.
    mllp_allowed_sources: dict[str, list[str]] = Field(default_factory=dict)
    mllp_tls_cert_file: Path | None = None
    mllp_tls_key_file: Path | None = None
    mllp_tls_client_ca_file: Path | None = None
    mllp_require_channel: bool = False
    mllp_metrics_port: int = Field(default=0, ge=0, le=65535)  # Prometheus /metrics; 0: off
    # Raw HL7 v2 / FHIR messages carry more personal data than the events drawn from them (names,
    # addresses): after this many days the worker blanks the bytes and keeps the fingerprint.
    raw_message_days: int = Field(default=90, ge=1, le=36500)
    # People (issue 24): where people reach the screens (enrolment links are built on it, its
    # host name is the passkeys' relying-party id); default http://localhost:<port>.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+/?$")
    # Signing in to the screens with an API key: development only unless this is true.
    ui_key_login: bool = False

    @property
    def screens_url(self) -> str:
        """HANDOVER_PUBLIC_URL without a trailing slash, or http://localhost:<port>."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def key_login_allowed(self) -> bool:
        """Signing in to the screens with an API key: development, or HANDOVER_UI_KEY_LOGIN."""
        return self.env == "development" or self.ui_key_login

    # Handover sheets (issue 25): the key that encrypts them at rest (required in production;
    # development: generated into data_dir), earlier keys still accepted for reading while
    # `handover rekey-sheets` re-encrypts (comma separated), and how many days after its event
    # each kind of sheet is kept before the worker deletes it.
    sheet_key: SecretStr | None = None
    sheet_previous_keys: SecretStr | None = None
    admission_info_sheet_days: int = Field(default=1826, ge=1, le=36500)
    discharge_info_sheet_days: int = Field(default=1826, ge=1, le=36500)

    @model_validator(mode="after")
    def _production_requirements(self) -> Settings:
        """In production: no weak admin token, and the secrets every process shares are set."""
        if self.env != "production":
            return self
        problems = []
        if self.admin_token is not None:
            token = self.admin_token.get_secret_value()
            if len(token) < MIN_PRODUCTION_TOKEN_LENGTH or token.lower() in WELL_KNOWN_TOKENS:
                problems.append(
                    "HANDOVER_ADMIN_TOKEN must be at least "
                    f"{MIN_PRODUCTION_TOKEN_LENGTH} characters and not a well-known value "
                    "when HANDOVER_ENV=production"
                )
        missing = [
            name
            for name, value in (
                ("HANDOVER_SESSION_SECRET", self.session_secret),
                ("HANDOVER_WEBHOOK_KEY", self.webhook_key),
                ("HANDOVER_SHEET_KEY", self.sheet_key),
            )
            if value is None or not value.get_secret_value().strip()
        ]
        if missing:
            problems.append(f"{' and '.join(missing)} must be set when HANDOVER_ENV=production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def async_database_url(self) -> str:
        """The database URL with the asyncpg driver, whatever scheme was configured."""
        if self.database_url is None:
            raise RuntimeError(
                "DATABASE_URL is not set (the launcher sets it for the embedded server)"
            )
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    """Rewrite postgres://, postgresql:// or postgresql+psycopg:// to postgresql+asyncpg://."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("database URL must have a scheme")
    if scheme in {"postgres", "postgresql"} or scheme.startswith("postgresql+"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported database URL scheme: {scheme}")


def to_psycopg_url(url: str) -> str:
    """Plain ``postgresql://`` for psycopg and libpq, whatever SQLAlchemy driver was named."""
    return "postgresql://" + url.partition("://")[2]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
