"""Schemathesis's own CLI, every phase and every check (one switched off, with its reason in
`schemathesis.toml`), once with a key of each role, against a uvicorn process.

The run docs/reliability.md reports ("Schemathesis, every role"). Each role sees the operations
it may not use answer 401/403/404, and those it may use answer what the document says.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import ADMIN_TOKEN, admin_headers, unique
from tests.reliability.harness import ApiServer, api_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "reliability" / "schemathesis.toml"
ROLES = {"hospital": "hospital", "care_office": "care_office",
         "support_center": "support_center", "viewer": "municipality", "admin": None}  # fmt: skip


@pytest.fixture(scope="module")
def live_api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    log = Path(tmp_path_factory.mktemp("fuzz-roles")) / "api.log"
    with api_server(database_url, database_url, log) as server:
        yield server


def _key(server: ApiServer, role: str) -> str:
    """A key of the role, for an organization of a fresh region (the admin token for admin)."""
    kind = ROLES[role]
    if kind is None:
        return ADMIN_TOKEN
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        org = unique("F")
        body = {"id": org, "kind": kind, "name": f"fuzz {role}", "region": unique("fz-")}
        assert client.post("/v1/organizations", json=body, headers=admin_headers()).is_success
        r = client.post("/v1/api-keys", json={"organization_id": org, "role": role},
                        headers=admin_headers())  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["key"])


@pytest.mark.parametrize("role", list(ROLES))
def test_every_phase_and_check_passes_for_every_role(live_api: ApiServer, role: str) -> None:
    key = _key(live_api, role)
    env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.reliability.schemathesis_hooks")
    argv = [str(ROOT / ".venv" / "bin" / "st"), "--config-file", str(CONFIG), "run",
            f"{live_api.base_url}/openapi.json", "-H", f"Authorization: Bearer {key}",
            "--workers", "1", "--no-shrink"]  # fmt: skip
    run = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                         check=False)  # fmt: skip
    summary = run.stdout[-3000:]
    assert run.returncode == 0, f"{role}:\n{summary}\n{live_api.tail()}"
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts is not None, summary
    assert counts.group(1) == counts.group(2), summary
    print(f"{role}: {counts.group(0)}; {summary.strip().splitlines()[-1]}")  # the docs' table
