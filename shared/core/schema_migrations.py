"""Run Alembic from code (CLI, launcher, tests) and tell whether the database is at head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, whatever the working directory."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every pending revision (each in its own transaction)."""
    command.upgrade(alembic_config(database_url), "head")


def head_revisions() -> set[str]:
    """The revision ids the code expects the database to be at."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revision ids recorded in the database (empty before the first migration)."""
    return set(MigrationContext.configure(connection).get_current_heads())
