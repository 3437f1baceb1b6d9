"""``handover up`` with no DATABASE_URL: embedded PostgreSQL, API, worker, scheduler, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from services.worker.bridge import enqueue_ping
from services.worker.broker import get_broker
from tests.services import free_port, wait_until

pytestmark = [pytest.mark.embedded, pytest.mark.slow]
READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60
CLEARED_ENV = ("DATABASE_URL", "BROKER_URL", "HANDOVER_DATABASE_URL", "HANDOVER_BROKER_URL",
               "HANDOVER_ADMIN_TOKEN", "HANDOVER_PORT", "HANDOVER_ENV")  # fmt: skip


def _handover_command() -> list[str]:
    script = Path(sys.executable).parent / "handover"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


def _leftovers(data_dir: Path, port: int, known: set[int]) -> list[str]:
    """Live processes we started, or whose command line names this data dir or port."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] in known or str(data_dir) in cmdline or f"--port {port}" in cmdline:
            found.append(f"{proc.info['pid']}: {cmdline}")
    return found


def _kill_leftovers(data_dir: Path, port: int, known: set[int]) -> None:
    for line in _leftovers(data_dir, port, known):
        with suppress(psutil.Error):
            psutil.Process(int(line.split(":", 1)[0])).kill()


Launched = tuple[subprocess.Popen[bytes], set[int]]


@contextmanager
def launcher(data_dir: Path, port: int, log: Path) -> Iterator[Launched]:
    """Run ``handover up``; yields the process and the pids of everything it started."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["HANDOVER_DATA_DIR"] = str(data_dir)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*_handover_command(), "up", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    known: set[int] = {proc.pid}
    try:
        yield proc, known
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT_S)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _kill_leftovers(data_dir, port, known)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    def ready() -> bool:
        assert proc.poll() is None, f"launcher exited early:\n{log.read_text()[-4000:]}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_until(ready, timeout=READY_TIMEOUT_S, interval=0.5), log.read_text()[-4000:]


def _remember_descendants(proc: subprocess.Popen[bytes], known: set[int], data_dir: Path) -> None:
    known.update(p.pid for p in psutil.Process(proc.pid).children(recursive=True))
    known.update(int(line.split(":", 1)[0]) for line in _leftovers(data_dir, -1, set()))


def _stop_and_assert_clean(proc: subprocess.Popen[bytes], known: set[int], data_dir: Path,
                           port: int, log: Path) -> float:  # fmt: skip
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(STOP_TIMEOUT_S) == 0, log.read_text()[-4000:]
    elapsed = time.monotonic() - started
    wait_until(lambda: not _leftovers(data_dir, port, known), timeout=5)
    left = _leftovers(data_dir, port, known)
    assert not left, f"processes left behind: {left}"
    return elapsed


def test_up_serves_processes_a_ping_and_stops_everything_keeping_the_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "launcher.log"
    port = free_port()
    token = uuid.uuid4()

    with launcher(data_dir, port, log) as (proc, known):
        started = time.monotonic()
        _wait_ready(port, proc, log)
        print(f"first start ready in {time.monotonic() - started:.1f}s")
        _remember_descendants(proc, known, data_dir)
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
        print(f"stopped in {_stop_and_assert_clean(proc, known, data_dir, port, log):.1f}s")

    port = free_port()
    with launcher(data_dir, port, log) as (proc, known):
        started = time.monotonic()
        _wait_ready(port, proc, log)
        print(f"restart ready in {time.monotonic() - started:.1f}s")
        _remember_descendants(proc, known, data_dir)
        with psycopg.connect((data_dir / "embedded.url").read_text().strip()) as conn:
            row = conn.execute("SELECT processed_at FROM pings WHERE token = %s", (token,))
            kept = row.fetchone()
        assert kept is not None, "a row written in the first run was lost"
        assert kept[0] is not None
        assert (data_dir / "admin-token").read_text().strip() == admin_token
        _stop_and_assert_clean(proc, known, data_dir, port, log)
    shutil.rmtree(data_dir, ignore_errors=True)
