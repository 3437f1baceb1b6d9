"""Run the launcher's children: restart a crashed one with backoff, give up only on a crash loop."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field

from rich.console import Console

BACKOFF_FIRST_S = 1.0  # the first restart waits this long, then 2 s, 4 s …
BACKOFF_MAX_S = 30.0  # … up to this
GIVE_UP_CRASHES = 5  # this many crashes of one child …
GIVE_UP_WINDOW_S = 60.0  # … within this window: stop everything
STABLE_AFTER_S = 30.0  # a child up this long before it crashes starts again at BACKOFF_FIRST_S
STOP_TIMEOUT_S = 10.0  # SIGTERM, then SIGKILL of the whole group
KILL_GRACE_S = 2.0  # after the leader exits, its group's stragglers get this long


@dataclass(frozen=True)
class ChildSpec:
    """One process the launcher runs; children start in list order and stop in reverse."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff and the crash-loop limit; the defaults are the named constants above."""

    first_delay_s: float = BACKOFF_FIRST_S
    max_delay_s: float = BACKOFF_MAX_S
    give_up_crashes: int = GIVE_UP_CRASHES
    give_up_window_s: float = GIVE_UP_WINDOW_S
    stable_after_s: float = STABLE_AFTER_S

    def delay(self, streak: int) -> float:
        """Doubling from ``first_delay_s`` for the 1st, 2nd, 3rd … crash in a row, capped."""
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** max(0, streak - 1)))


class GaveUp(Exception):
    """One child crashed too often too quickly: restarting it again would only hide the fault."""


def describe_exit(returncode: int) -> str:
    """``exit 3`` or ``signal SIGKILL`` (Popen gives a signal as a negative return code)."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


@dataclass
class Child:
    """A spec and its current process, which leads its own group so Ctrl-C never reaches it."""

    spec: ChildSpec
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    streak: int = 0  # crashes since it last stayed up STABLE_AFTER_S
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None  # set while it waits out a backoff

    @property
    def name(self) -> str:
        return self.spec.name

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@dataclass
class Supervisor:
    """Starts the children, restarts the ones that die, stops them all in reverse order."""

    specs: Sequence[ChildSpec]
    env: dict[str, str]
    console: Console
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    shield: Callable[[], AbstractContextManager[None]] = nullcontext  # holds Ctrl-C off a spawn
    children: list[Child] = field(default_factory=list)

    def start_all(self) -> None:
        for spec in self.specs:
            child = Child(spec)
            self.children.append(child)
            self._spawn(child)

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def _spawn(self, child: Child) -> None:
        with self.shield():
            child.popen = subprocess.Popen(child.spec.argv, env=self.env, start_new_session=True)
            child.started_at = time.monotonic()
            child.restart_at = None
        self.console.print(f"[dim]started {child.name} (pid {child.popen.pid})[/dim]")

    def poll(self) -> None:
        """Restart children whose backoff is over, note the ones that died; may raise GaveUp."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._spawn(child)
            elif child.popen is not None and child.popen.poll() is not None:
                self._crashed(child, child.popen, now)

    def _crashed(self, child: Child, popen: subprocess.Popen[bytes], now: float) -> None:
        _kill_group(popen.pid)  # a SIGKILLed leader leaves its own children (dramatiq's) behind
        up_s = now - child.started_at
        if up_s >= self.policy.stable_after_s:
            child.streak = 0
        child.streak += 1
        child.crashes.append(now)
        while child.crashes and now - child.crashes[0] > self.policy.give_up_window_s:
            child.crashes.popleft()
        how = describe_exit(popen.returncode)
        if len(child.crashes) >= self.policy.give_up_crashes:
            raise GaveUp(
                f"{child.name} crashed {len(child.crashes)} times within "
                f"{self.policy.give_up_window_s:g}s (last: {how})"
            )
        delay = self.policy.delay(child.streak)
        child.restarts += 1
        child.restart_at = now + delay
        self.console.print(
            f"[yellow]{child.name} (pid {popen.pid}) died: {how} after {up_s:.1f}s up; "
            f"restart {child.restarts} in {delay:g}s[/]",
            soft_wrap=True,
        )

    def watch(self, interval: float, timeout: float | None = None) -> None:
        """Poll until ``timeout`` (forever if None); GaveUp and Ctrl-C propagate."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            self.poll()
            time.sleep(interval)

    def stop(self, child: Child, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the leader only (dramatiq forwards it to its own children), then SIGKILL all."""
        child.restart_at = None
        popen = child.popen
        if popen is None:
            return
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.console.print(f"[yellow]{child.name} still running after {timeout:.0f}s[/]")
        deadline = time.monotonic() + KILL_GRACE_S
        while _group_alive(popen.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _kill_group(popen.pid)
        if popen.poll() is None:
            popen.wait()
        self.console.print(f"[dim]stopped {child.name} ({describe_exit(popen.returncode)})[/dim]")

    def stop_all(self) -> None:
        """Reverse start order; a child waiting out a backoff is simply not restarted."""
        for child in reversed(self.children):
            self.stop(child)
        self.children.clear()
