"""After-commit hand-off of episode recomputes to the broker: a fast path, never the record.

Requests add the episodes they committed; the queue sends them together a moment later, up
to 100 per message, so the worker folds many episodes per transaction and no request waits on
the broker. Whatever is not sent (a broker down or hung, a process killed) is still marked
dirty in the database, and the periodic sweep enqueues it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Protocol

import dramatiq

from shared.queue.enqueue import RECOMPUTE_BATCH, enqueue_recompute

logger = logging.getLogger("handover.api.enqueue")
ENQUEUE_TIMEOUT_SECONDS = 2.0
COALESCE_SECONDS = 0.05
MAX_IN_FLIGHT = 4  # enqueue threads a hung broker may hold; past that, leave it to the sweep


class Recompute(Protocol):
    """Where a use case hands the episodes it committed, to be refolded (a RecomputeQueue)."""

    def add(self, episode_ids: Iterable[uuid.UUID]) -> None: ...


class RecomputeQueue:
    """Episode ids waiting to be sent, flushed every ``delay`` seconds or at a full message."""

    def __init__(
        self, broker: dramatiq.Broker, *, enabled: bool = True, delay: float = COALESCE_SECONDS
    ) -> None:
        self.broker = broker
        self.enabled = enabled
        self.delay = delay
        self._pending: set[uuid.UUID] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0

    def add(self, episode_ids: Iterable[uuid.UUID]) -> None:
        """Call after the commit; never blocks and never raises."""
        if not self.enabled:
            return
        self._pending.update(episode_ids)
        if len(self._pending) >= RECOMPUTE_BATCH:
            self._send_now()
        elif self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self._send_now)

    def _send_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        ids, self._pending = sorted(self._pending), set()
        if self._in_flight >= MAX_IN_FLIGHT:  # the broker hangs: don't pile threads behind it
            logger.warning("broker busy; %d recompute(s) left to the sweep", len(ids))
            return
        task = asyncio.get_running_loop().create_task(self._send(ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, ids: list[uuid.UUID]) -> None:
        self._in_flight += 1
        work = asyncio.create_task(asyncio.to_thread(enqueue_recompute, self.broker, ids))
        work.add_done_callback(self._release)
        try:
            await asyncio.wait_for(asyncio.shield(work), ENQUEUE_TIMEOUT_SECONDS)
        except Exception as exc:  # the dirty mark is committed: the periodic sweep recovers
            logger.warning(
                "enqueue of %d recompute(s) failed (%s); the sweep will retry",
                len(ids),
                type(exc).__name__,
            )

    def _release(self, work: asyncio.Task[None]) -> None:
        """The enqueue thread has returned (even one that outlived its wait)."""
        self._in_flight -= 1
        if not work.cancelled() and work.exception() is not None:
            logger.debug("late enqueue failure: %s", type(work.exception()).__name__)

    async def drain(self) -> None:
        """Send what is pending and wait for the sends (shutdown, and tests)."""
        self._send_now()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
