"""The launcher's supervisor on tiny fake children: restarts, backoff, giving up, clean stops."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from services.cli.supervisor import ChildSpec, GaveUp, RestartPolicy, Supervisor
from tests.services import wait_until

SLEEPER = ChildSpec("sleeper", (sys.executable, "-c", "import time; time.sleep(60)"))
CRASHER = ChildSpec("crasher", (sys.executable, "-c", "import sys; sys.exit(3)"))
FAST = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, give_up_crashes=5,
                     give_up_window_s=30, stable_after_s=30)  # fmt: skip


def _supervisor(specs: list[ChildSpec], policy: RestartPolicy = FAST) -> Supervisor:
    console = Console(file=io.StringIO(), width=300, color_system=None)
    return Supervisor(specs, dict(os.environ), console, policy)


def _log(supervisor: Supervisor) -> str:
    out = supervisor.console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def _delays(supervisor: Supervisor, name: str) -> list[float]:
    pattern = rf"^{name} .*; restart \d+ in ([\d.]+)s$"
    return [float(d) for d in re.findall(pattern, _log(supervisor), re.M)]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def started() -> Iterator[list[Supervisor]]:
    """Supervisors a test starts; whatever they still run is stopped afterwards."""
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop_all()


def test_a_child_that_keeps_crashing_is_given_up_on_with_its_name_and_exit_code(
    started: list[Supervisor],
) -> None:
    supervisor = _supervisor([SLEEPER, CRASHER])
    started.append(supervisor)
    supervisor.start_all()
    began = time.monotonic()
    with pytest.raises(GaveUp, match=r"^crasher crashed 5 times within 30s \(last: exit 3\)$"):
        supervisor.watch(0.01, timeout=20)
    assert time.monotonic() - began < 10
    assert _delays(supervisor, "crasher") == [0.05, 0.1, 0.2, 0.2]  # doubling, capped
    assert "crasher (pid " in _log(supervisor)
    assert supervisor.child("sleeper").running()
    assert supervisor.child("sleeper").restarts == 0


def test_a_child_killed_with_sigkill_is_restarted_and_the_others_keep_running(
    started: list[Supervisor],
) -> None:
    other = ChildSpec("other", SLEEPER.argv)
    supervisor = _supervisor([SLEEPER, other])
    started.append(supervisor)
    supervisor.start_all()
    victim, bystander = supervisor.child("sleeper"), supervisor.child("other")
    assert victim.popen is not None
    assert bystander.popen is not None
    old_pid, bystander_pid = victim.popen.pid, bystander.popen.pid
    os.kill(old_pid, signal.SIGKILL)
    supervisor.watch(0.01, timeout=1.0)
    assert victim.running()
    assert victim.popen.pid != old_pid
    assert victim.restarts == 1
    assert re.search(r"^sleeper \(pid \d+\) died: signal SIGKILL after [\d.]+s up; restart 1 "
                     r"in 0.05s$", _log(supervisor), re.M), _log(supervisor)  # fmt: skip
    assert bystander.popen.pid == bystander_pid
    assert bystander.running()


def test_a_killed_leader_takes_its_own_children_with_it(
    started: list[Supervisor], tmp_path: Path
) -> None:
    """Like dramatiq's main process: a SIGKILL leaves its forked worker, which must not linger."""
    pid_file = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time, pathlib; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"pathlib.Path({str(pid_file)!r}).write_text(str(p.pid)); time.sleep(60)")  # fmt: skip
    supervisor = _supervisor([ChildSpec("leader", (sys.executable, "-c", code))])
    started.append(supervisor)
    supervisor.start_all()
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=10)
    grandchild = int(pid_file.read_text())
    leader = supervisor.child("leader").popen
    assert leader is not None
    os.kill(leader.pid, signal.SIGKILL)
    supervisor.watch(0.01, timeout=0.5)
    assert wait_until(lambda: _gone(grandchild), timeout=2), "the dead leader's child lingers"


def test_a_child_that_stayed_up_long_enough_starts_its_backoff_again(
    started: list[Supervisor],
) -> None:
    code = "import time, sys; time.sleep(1.2); sys.exit(1)"
    slow = ChildSpec("slow", (sys.executable, "-c", code))
    policy = RestartPolicy(first_delay_s=0.05, max_delay_s=5, give_up_crashes=100,
                           give_up_window_s=30, stable_after_s=1.0)  # fmt: skip
    supervisor = _supervisor([slow, CRASHER], policy)
    started.append(supervisor)
    supervisor.start_all()
    supervisor.watch(0.01, timeout=4.0)
    slow_delays = _delays(supervisor, "slow")
    assert len(slow_delays) >= 2
    assert set(slow_delays) == {0.05}, slow_delays
    assert _delays(supervisor, "crasher")[:3] == [0.05, 0.1, 0.2]  # never up for 1 s


def test_stopping_during_a_backoff_wait_stops_everything_at_once(
    started: list[Supervisor],
) -> None:
    policy = RestartPolicy(first_delay_s=30, stable_after_s=30)
    supervisor = _supervisor([SLEEPER, CRASHER], policy)
    started.append(supervisor)
    supervisor.start_all()
    crasher = supervisor.child("crasher")

    def crasher_scheduled() -> bool:
        supervisor.poll()
        return crasher.restart_at is not None

    assert wait_until(crasher_scheduled, timeout=10)
    sleeper = supervisor.child("sleeper").popen
    assert sleeper is not None
    began = time.monotonic()
    supervisor.stop_all()
    assert time.monotonic() - began < 5
    assert sleeper.returncode == -signal.SIGTERM
    assert crasher.restarts == 1
    assert not crasher.running()
    assert supervisor.children == []
