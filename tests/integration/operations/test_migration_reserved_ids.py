"""The migration to per-poster event ids finds organizations registered under a reserved id."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from shared.core.settings import to_psycopg_url
from tests.integration.operations.test_migrations import alembic
from tests.services import fresh_database

pytestmark = pytest.mark.postgres
BEFORE = "efcfef57312a"


def test_an_organization_under_a_reserved_id_loses_every_key_but_admin_ones() -> None:
    keys = {"Admin": ("care_office", uuid.uuid4()), "admin": ("admin", uuid.uuid4()),
            "C1": ("care_office", uuid.uuid4())}  # fmt: skip
    with fresh_database("handover_test_reserved_ids", migrate=False) as url:
        assert alembic(url, "upgrade", BEFORE).returncode == 0
        with psycopg.connect(to_psycopg_url(url)) as conn:
            for org in ("Admin", "admin", "C1"):
                conn.execute(
                    "INSERT INTO organizations (id, kind, name, region)"
                    " VALUES (%s, 'care_office', %s, 'r1')",
                    (org, f"office {org}"),
                )
            for org, (role, key_id) in keys.items():
                conn.execute(
                    "INSERT INTO api_keys (id, prefix, key_hash, organization_id, role)"
                    " VALUES (%s, %s, 'x', %s, %s)",
                    (key_id, key_id.hex[:16], org, role),
                )
        up = alembic(url, "upgrade", "head")
        assert up.returncode == 0, up.stderr
        assert "organizations under a reserved id: Admin, admin; 1 of their keys revoked" in (
            up.stderr
        )
        with psycopg.connect(to_psycopg_url(url)) as conn:
            revoked: dict[str, bool] = dict(
                conn.execute("SELECT organization_id, revoked_at IS NOT NULL FROM api_keys")
            )
    assert revoked == {"Admin": True, "admin": False, "C1": False}
