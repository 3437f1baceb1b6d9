"""Migrations: upgrade to head matches the models (`alembic check`), and downgrade works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import fresh_database

pytestmark = pytest.mark.postgres
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "migrations" / "alembic.ini"


def alembic(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_upgrade_head_then_check_finds_no_drift_and_downgrade_round_trips() -> None:
    with fresh_database("handover_test_migrations", migrate=False) as url:
        up = alembic(url, "upgrade", "head")
        assert up.returncode == 0, up.stderr
        check = alembic(url, "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        down = alembic(url, "downgrade", "base")
        assert down.returncode == 0, down.stderr
        again = alembic(url, "upgrade", "head")
        assert again.returncode == 0, again.stderr
