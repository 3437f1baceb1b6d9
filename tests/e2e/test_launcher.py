"""``handover up`` with no DATABASE_URL: embedded PostgreSQL, API, worker, scheduler, clean stop."""

from __future__ import annotations

import shutil
import stat
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from shared.queue.broker import get_broker
from shared.queue.enqueue import enqueue_ping
from tests.e2e.launch import launcher, remember_descendants, stop_and_assert_clean, wait_ready
from tests.services import free_port, wait_until

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def test_up_serves_processes_a_ping_and_stops_everything_keeping_the_data(
    pg_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = pg_data_dir
    log = tmp_path / "launcher.log"
    port = free_port()
    token = uuid.uuid4()

    with launcher(data_dir, port, log) as (proc, known):
        started = time.monotonic()
        wait_ready(port, proc, log)
        print(f"first start ready in {time.monotonic() - started:.1f}s")
        remember_descendants(proc, known, data_dir)
        url = (data_dir / "embedded.url").read_text().strip()
        token_file = data_dir / "admin-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        admin_token = token_file.read_text().strip()
        assert wait_until(lambda: admin_token in log.read_text(), timeout=10)

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO pings (token) VALUES (%s)", (token,))
        broker = get_broker(url)
        try:
            enqueue_ping(broker, token)
        finally:
            broker.close()

        def processed() -> bool:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT processed_at FROM pings WHERE token = %s", (token,))
                return (found := row.fetchone()) is not None and found[0] is not None

        assert wait_until(processed, timeout=20), "the worker did not process the ping"
        print(f"stopped in {stop_and_assert_clean(proc, known, data_dir, port, log):.1f}s")

    port = free_port()
    with launcher(data_dir, port, log) as (proc, known):
        started = time.monotonic()
        wait_ready(port, proc, log)
        print(f"restart ready in {time.monotonic() - started:.1f}s")
        remember_descendants(proc, known, data_dir)
        with psycopg.connect((data_dir / "embedded.url").read_text().strip()) as conn:
            row = conn.execute("SELECT processed_at FROM pings WHERE token = %s", (token,))
            kept = row.fetchone()
        assert kept is not None, "a row written in the first run was lost"
        assert kept[0] is not None
        assert (data_dir / "admin-token").read_text().strip() == admin_token
        stop_and_assert_clean(proc, known, data_dir, port, log)
    shutil.rmtree(data_dir, ignore_errors=True)
