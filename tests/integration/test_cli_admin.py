"""The operator CLI: `handover org add`, `key create`, `key revoke`, `rebuild-metrics`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.factories import unique

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
    assert (await client.get("/v1/handovers/pending", headers=headers)).status_code == 401


def test_cli_rejects_bad_input_with_a_clear_message(database_url: str) -> None:
    bad = handover(database_url, "org", "add", "bad id!", "--kind", "hospital", "--name", "x",
                   "--region", "Bad Region")  # fmt: skip
    assert bad.returncode == 2
    assert "id:" in bad.stderr
    assert "region:" in bad.stderr
    role = handover(database_url, "key", "create", "whatever", "--role", "root")
    assert role.returncode == 2
    assert "role must be one of" in role.stderr
