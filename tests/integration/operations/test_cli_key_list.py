"""`handover key list` in an 80-column terminal: every id whole, so `key revoke` can take it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.factories import unique

pytestmark = pytest.mark.postgres
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def handover(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")}
    env |= {"DATABASE_URL": database_url, "COLUMNS": "80", "TERM": "xterm"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_key_list_shows_whole_ids_in_80_columns(database_url: str) -> None:
    org_id = unique("S")
    added = handover(database_url, "org", "add", org_id, "--kind", "support_center",
                     "--name", "地域包括支援センター", "--region", "cli-keys")  # fmt: skip
    assert added.returncode == 0, added.stderr
    created = handover(database_url, "key", "create", org_id, "--role", "support_center")
    assert created.returncode == 0, created.stderr
    key_id = created.stderr.split("key id ")[1].split()[0]
    listed = handover(database_url, "key", "list", "--organization", org_id)
    assert listed.returncode == 0, listed.stderr
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80, listed.stdout
    assert UUID.findall(listed.stdout) == [key_id]
    revoked = handover(database_url, "key", "revoke", UUID.findall(listed.stdout)[0])
    assert revoked.returncode == 0, revoked.stderr
