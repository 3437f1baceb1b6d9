"""`handover demo` re-runs on the same service: same seed all duplicates, new seed or region new."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from services.cli import app
from shared.core.settings import get_settings
from tests.services import free_port, fresh_database, stop_process_group, wait_until

pytestmark = [pytest.mark.postgres]

ADMIN_TOKEN = "demo-rerun-admin-token-0123456789"
TINY = ["--hospitals", "2", "--care-offices", "4", "--support-centers", "1", "--months", "1",
        "--episodes", "6", "--start", "2024-06", "--concurrency", "2"]  # fmt: skip


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Only the API (uvicorn) on a fresh database; recompute jobs wait in its Postgres queue."""
    log = tmp_path_factory.mktemp("demo-rerun") / "api.log"
    port = free_port()
    with fresh_database("handover_demo") as database_url, log.open("ab") as out:
        env = dict(os.environ, DATABASE_URL=database_url, HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN,
                   HANDOVER_ENV="development")  # fmt: skip
        argv = [sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        api = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
        try:

            def up() -> bool:
                assert api.poll() is None, log.read_text()[-3000:]
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                except httpx.HTTPError:
                    return False

            assert wait_until(up, timeout=60, interval=0.3)
            yield port
        finally:
            stop_process_group(api, timeout=10)


def demo(port: int, data: Path, *args: str) -> tuple[int, str]:
    """Run the demo in-process, finding the service through HANDOVER_PORT (no --url)."""
    get_settings.cache_clear()
    env = {"HANDOVER_PORT": str(port), "HANDOVER_ADMIN_TOKEN": ADMIN_TOKEN, "COLUMNS": "200",
           "HANDOVER_DATA_DIR": str(data)}  # fmt: skip
    try:
        result = CliRunner().invoke(app, ["demo", *TINY, *args], env=env)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def row(output: str, name: str) -> int:
    line = next(line for line in output.splitlines() if f" {name} " in line)
    return int(line.split("│")[2].split()[0])


def issued(output: str) -> int:
    """The demo's last line: which months it filled and how many keys it issued."""
    return int(output.split(" new API key(s) issued")[0].split()[-1])


def test_the_demo_reruns_with_the_same_seed_another_seed_and_another_region(
    port: int, tmp_path: Path
) -> None:
    code, first = demo(port, tmp_path, "--seed", "5")
    assert code == 0, first
    assert f"into http://127.0.0.1:{port}" in first
    assert row(first, "created") > 0
    assert row(first, "other") == 0

    assert "admissions from " in first
    assert issued(first) > 0
    assert (tmp_path / "demo-keys.json").stat().st_mode & 0o077 == 0  # keys: the owner's only

    code, again = demo(port, tmp_path, "--seed", "5")
    assert code == 0, again
    assert issued(again) == 0  # it posts with the keys it issued before
    assert row(again, "created") == 0
    assert row(again, "duplicate") == row(first, "created") + row(first, "duplicate")

    code, other_seed = demo(port, tmp_path, "--seed", "6")
    assert code == 0, other_seed
    assert row(other_seed, "created") > 0
    assert row(other_seed, "other") == 0

    code, other_region = demo(port, tmp_path, "--seed", "5", "--region", "miyazaki")
    assert code == 0, other_region
    assert row(other_region, "created") > 0
    assert row(other_region, "other") == 0
    assert "events/s" in other_region
    assert "wall time" in other_region
