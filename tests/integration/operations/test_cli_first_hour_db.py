"""The first hour against a real database: `key list` in an 80-column terminal keeps every id
whole (so `key revoke` can take it); `handover mllp` says it listens at INFO, not WARNING."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from tests.factories import unique
from tests.services import free_port, stop_process_group

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


def test_mllp_says_it_listens_at_info(database_url: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")}
    env |= {"DATABASE_URL": database_url, "BROKER_URL": database_url}
    argv = [sys.executable, "-m", "services.cli", "mllp", "--mllp-port", str(port)]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        line = ""
        while "MLLP listening" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline().decode()
            assert line or proc.poll() is None, "handover mllp exited"
    finally:
        stop_process_group(proc)
    assert f"INFO MLLP listening on 127.0.0.1:{port}" in line
