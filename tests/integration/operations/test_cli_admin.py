"""The operator CLI: `handover org add`, `key create`, `key revoke`, `rebuild-metrics`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import recompute_episodes
from tests.factories import Api, admission, unique

pytestmark = pytest.mark.postgres


def handover(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_cli_creates_an_organization_and_a_key_that_the_api_accepts_until_revoked(
    database_url: str, client: httpx.AsyncClient
) -> None:
    org_id = unique("H")
    added = handover(database_url, "org", "add", org_id, "--kind", "hospital", "--name", "病院",
                     "--region", "cli-test", "--medical-area", "鹿児島")  # fmt: skip
    assert added.returncode == 0, added.stderr
    again = handover(database_url, "org", "add", org_id, "--kind", "hospital", "--name", "病院",
                     "--region", "cli-test", "--medical-area", "鹿児島")  # fmt: skip
    assert "already registered" in again.stderr
    different = handover(database_url, "org", "add", org_id, "--kind", "care_office",
                         "--name", "x", "--region", "cli-test")  # fmt: skip
    assert different.returncode == 1
    created = handover(database_url, "key", "create", org_id, "--role", "hospital")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("hov_")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/handovers/pending", headers=headers)).status_code == 200
    key_id = created.stderr.split("key id ")[1].split()[0]
    assert handover(database_url, "key", "revoke", key_id).returncode == 0
    # The revoking process is another one: this API hears its NOTIFY a moment after the commit.
    assert await _refused_within(client, headers, seconds=1.0)


async def _refused_within(
    client: httpx.AsyncClient, headers: dict[str, str], seconds: float
) -> bool:
    deadline = time.monotonic() + seconds
    while (await client.get("/v1/handovers/pending", headers=headers)).status_code != 401:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def test_cli_rejects_bad_input_with_a_clear_message(database_url: str) -> None:
    bad = handover(database_url, "org", "add", "bad id!", "--kind", "hospital", "--name", "x",
                   "--region", "Bad Region")  # fmt: skip
    assert bad.returncode == 2
    assert "id:" in bad.stderr
    assert "region:" in bad.stderr
    role = handover(database_url, "key", "create", "whatever", "--role", "root")
    assert role.returncode == 2
    assert "'root' is not one of" in role.stderr


async def test_cli_rebuild_metrics_restores_the_aggregates_from_events(
    database_url: str, api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office, h_key, _ = await api.parties()
    posted = await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    async with sessions() as session, session.begin():
        await recompute_episodes(
            session, [uuid.UUID(posted.json()["episode_id"])], datetime.now(UTC)
        )

    def rows() -> list[tuple[object, ...]]:
        with psycopg.connect(database_url) as conn:
            query = "SELECT * FROM daily_aggregates WHERE region = %s ORDER BY side"
            return conn.execute(query, (api.region,)).fetchall()

    before = rows()
    assert len(before) == 1
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM daily_aggregates WHERE region = %s", (api.region,))
    rebuilt = handover(database_url, "rebuild-metrics")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt" in rebuilt.stderr
    assert rows() == before
