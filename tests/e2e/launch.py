"""Run ``handover up`` as a user does: a temp data dir, a free port, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil

from tests.services import free_port, wait_until

READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60
CLEARED_ENV = ("DATABASE_URL", "BROKER_URL", "HANDOVER_DATABASE_URL", "HANDOVER_BROKER_URL",
               "HANDOVER_ADMIN_TOKEN", "HANDOVER_PORT", "HANDOVER_ENV",
               "HANDOVER_MLLP_PORT", "HANDOVER_MLLP_HOST")  # fmt: skip


def up_command(port: int) -> list[str]:
    script = Path(sys.executable).parent / "handover"
    handover = [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]
    # A free MLLP port too: launchers of parallel tests must not fight over 2575.
    return [*handover, "up", "--port", str(port), "--mllp-port", str(free_port())]


def up_env(data_dir: Path) -> dict[str, str]:
    """The embedded default: no database or broker URL, data in ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["HANDOVER_DATA_DIR"] = str(data_dir)
    return env


def _tree(root: int | None) -> set[int]:
    if root is None:
        return set()
    try:
        return {root, *(p.pid for p in psutil.Process(root).children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def leftovers(data_dir: Path, port: int, known: set[int], spare: int | None = None) -> list[str]:
    """Live processes we started, or whose command line names this data dir or port.

    ``spare``: the root of a process tree that is not the launcher's (a server the test started).
    """
    found = []
    spared = _tree(spare)
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.info["pid"] in spared:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] in known or str(data_dir) in cmdline or f"--port {port}" in cmdline:
            found.append(f"{proc.info['pid']}: {cmdline}")
    return found


def kill_leftovers(data_dir: Path, port: int, known: set[int], spare: int | None = None) -> None:
    for line in leftovers(data_dir, port, known, spare):
        with suppress(psutil.Error):
            psutil.Process(int(line.split(":", 1)[0])).kill()


Launched = tuple[subprocess.Popen[bytes], set[int]]


@contextmanager
def launcher(data_dir: Path, port: int, log: Path, spare: int | None = None) -> Iterator[Launched]:
    """Run ``handover up``; yields the process and the pids of everything it started."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            up_command(port),
            env=up_env(data_dir),
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
        kill_leftovers(data_dir, port, known, spare)


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    def ready() -> bool:
        assert proc.poll() is None, f"launcher exited early:\n{log.read_text()[-4000:]}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_until(ready, timeout=READY_TIMEOUT_S, interval=0.5), log.read_text()[-4000:]


def remember_descendants(proc: subprocess.Popen[bytes], known: set[int], data_dir: Path) -> None:
    known.update(p.pid for p in psutil.Process(proc.pid).children(recursive=True))
    known.update(int(line.split(":", 1)[0]) for line in leftovers(data_dir, -1, set()))


def stop_and_assert_clean(proc: subprocess.Popen[bytes], known: set[int], data_dir: Path,
                           port: int, log: Path) -> float:  # fmt: skip
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(STOP_TIMEOUT_S) == 0, log.read_text()[-4000:]
    elapsed = time.monotonic() - started
    wait_until(lambda: not leftovers(data_dir, port, known), timeout=5)
    left = leftovers(data_dir, port, known)
    assert not left, f"processes left behind: {left}"
    return elapsed
