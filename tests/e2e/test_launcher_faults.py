"""``handover up`` under faults: a SIGKILLed worker, a second launcher, a server not its own."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from services.cli.demo.post import post_events, register
from services.cli.demo.scenario import Params, generate
from shared.core.embedded import start_embedded
from shared.rules.metrics import COUNT_FIELDS
from tests.e2e.launch import (
    launcher,
    remember_descendants,
    stop_and_assert_clean,
    up_command,
    up_env,
    wait_ready,
)
from tests.services import free_port, wait_until

pytestmark = [pytest.mark.embedded, pytest.mark.slow]
TINY = Params(hospitals=1, care_offices=2, support_centers=1, months=1,
              episodes_per_hospital_month=6, start=date(2024, 6, 1),
              region="launcher-e2e")  # fmt: skip
REFUSAL_TIMEOUT_S = 20


def _worker_leader(proc: subprocess.Popen[bytes]) -> psutil.Process:
    """The dramatiq main process the launcher started (its forked worker is a grandchild)."""
    found = [p for p in psutil.Process(proc.pid).children() if "dramatiq" in " ".join(p.cmdline())]
    assert len(found) == 1, found
    return found[0]


def _metrics(client: httpx.Client, admin: dict[str, str]) -> dict[str, object]:
    r = client.get("/v1/metrics", params={"month": "2024-06"}, headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_a_worker_killed_with_sigkill_is_restarted_and_folds_events_posted_after_the_kill(
    pg_data_dir: Path,
    tmp_path: Path,
) -> None:
    data_dir, log, port = pg_data_dir, tmp_path / "launcher.log", free_port()
    with launcher(data_dir, port, log) as (proc, known):
        wait_ready(port, proc, log)
        remember_descendants(proc, known, data_dir)
        admin = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        scenario = generate(TINY, seed=5)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            keys = register(client, scenario, admin["Authorization"].split()[1])
            old = _worker_leader(proc)
            forked = old.children(recursive=True)
            assert forked, "dramatiq forks its worker process"
            killed = time.monotonic()
            old.kill()
            summary = post_events(client, scenario.posts, keys)  # while the worker is down
            assert summary.errors == []
            assert summary.created > 0

            def restarted() -> bool:
                _, died, after = log.read_text().partition("died: signal SIGKILL")
                return bool(died) and "started worker (pid " in after

            assert wait_until(restarted, timeout=30), log.read_text()[-3000:]
            print(f"worker restarted {time.monotonic() - killed:.1f}s after the kill")

            def gone(p: psutil.Process) -> bool:
                try:
                    return not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
                except psutil.NoSuchProcess:
                    return True

            # SIGKILL of the whole group is sent before the restart; its delivery may lag.
            assert wait_until(lambda: all(gone(p) for p in forked), timeout=10), [
                (p.pid, p.name()) for p in forked if not gone(p)
            ]
            assert re.search(r"worker \(pid \d+\) died: signal SIGKILL after [\d.]+s up; restart 1 "
                             r"in 1s", log.read_text()), log.read_text()[-3000:]  # fmt: skip

            def folded() -> bool:
                return _metrics(client, admin)["stale_episodes"] == 0

            assert wait_until(folded, timeout=60, interval=0.5), _metrics(client, admin)
            print(f"events posted after the kill folded {time.monotonic() - killed:.1f}s after it")
            total = _metrics(client, admin)["total"]
            assert isinstance(total, dict)
            assert sum(int(total[name]) for name in COUNT_FIELDS) > 0
            assert client.get("/readyz").status_code == 200

        remember_descendants(proc, known, data_dir)
        _worker_leader(proc).kill()  # again, then SIGTERM during the backoff
        # 2 s after a short life; 1 s again when the worker stayed up past STABLE_AFTER_S (a slow
        # run), which can also restart it before the SIGTERM lands: both must stop cleanly.
        second = re.compile(r"restart 2 in (\d+)s")
        assert wait_until(lambda: second.search(log.read_text()) is not None, timeout=10)
        delay = second.search(log.read_text())
        stopped = stop_and_assert_clean(proc, known, data_dir, port, log)
        print(f"stopped during a backoff wait in {stopped:.1f}s")
        if delay is not None and delay.group(1) == "2":
            assert "started worker" not in log.read_text().split("restart 2 in 2s")[-1]


def test_a_second_launcher_on_the_same_data_dir_is_refused_and_the_first_keeps_serving(
    pg_data_dir: Path,
    tmp_path: Path,
) -> None:
    data_dir, port = pg_data_dir, free_port()
    with launcher(data_dir, port, tmp_path / "first.log") as (first, known):
        wait_ready(port, first, tmp_path / "first.log")
        remember_descendants(first, known, data_dir)
        url_file = (data_dir / "embedded.url").read_text()
        began = time.monotonic()  # not launcher(): its cleanup kills whatever names data_dir
        second = subprocess.run(up_command(free_port()), env=up_env(data_dir), capture_output=True,
                                timeout=REFUSAL_TIMEOUT_S, check=False)  # fmt: skip
        refused_in, code = time.monotonic() - began, second.returncode
        print(f"second launcher refused in {refused_in:.1f}s (exit {code})")
        assert code != 0
        output = (second.stdout + second.stderr).decode()
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert "already running" in lines[0]
        assert f"pid {first.pid}" in lines[0]
        assert f"http://127.0.0.1:{port}" in lines[0]
        assert str(data_dir.resolve()) in lines[0]
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        assert (data_dir / "embedded.url").read_text() == url_file
        stop_and_assert_clean(first, known, data_dir, port, tmp_path / "first.log")


def test_a_postgres_the_launcher_did_not_start_is_left_running(
    pg_data_dir: Path, tmp_path: Path
) -> None:
    data_dir, log, port = pg_data_dir, tmp_path / "launcher.log", free_port()
    embedded = start_embedded(data_dir)
    try:
        with launcher(data_dir, port, log, spare=embedded.server.get_pid()) as (proc, _):
            wait_ready(port, proc, log)
            assert "leaving it running on exit" in log.read_text()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text()[-3000:]
        assert "stopped PostgreSQL" not in log.read_text()
        with psycopg.connect(embedded.url, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        embedded.stop()
