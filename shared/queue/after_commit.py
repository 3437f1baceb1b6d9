"""The one after-commit hand-off to the broker: recomputes and webhook deliveries alike.

``shared.core.unit_of_work`` passes every committed transaction's ``Jobs`` to ``hand_off``; the
ids wait a moment so requests close together share a message (up to ``RECOMPUTE_BATCH`` episodes
or ``DELIVER_BATCH`` deliveries each), then one task sends them from a thread, waiting at most
``ENQUEUE_TIMEOUT_SECONDS``. At most ``MAX_IN_FLIGHT`` sends may wait on a hung broker; past
that, the jobs are left to the sweeps. Nothing here is the record: an episode is marked dirty and
a delivery is a pending row in the same transaction, so a broker that is down, hung or a process
that dies only delays the work.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import dramatiq

from shared.core.unit_of_work import Jobs
from shared.queue.enqueue import RECOMPUTE_BATCH, enqueue_recompute
from shared.queue.webhook_queue import enqueue_deliveries

logger = logging.getLogger("handover.queue.after_commit")
ENQUEUE_TIMEOUT_SECONDS = 2.0
RECOMPUTE_DELAY_SECONDS = 0.05  # long enough to gather many episodes into one worker transaction
DELIVERY_DELAY_SECONDS = 0.01  # a notification should leave at once
MAX_IN_FLIGHT = 4  # enqueue threads a hung broker may hold; past that, leave it to the sweeps


class AfterCommit:
    """Jobs waiting to be sent; ``hand_off`` is the unit of work's after-commit step."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        *,
        enabled: bool = True,
        recompute_delay: float = RECOMPUTE_DELAY_SECONDS,
        delivery_delay: float = DELIVERY_DELAY_SECONDS,
    ) -> None:
        self.broker = broker
        self.enabled = enabled
        self.recompute_delay = recompute_delay
        self.delivery_delay = delivery_delay
        self._pending = Jobs()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0

    def hand_off(self, jobs: Jobs) -> None:
        """Never blocks, never raises; outside an event loop it leaves the jobs to the sweeps."""
        if not self.enabled or not jobs:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending.recompute.update(jobs.recompute)
        self._pending.deliveries.extend(jobs.deliveries)
        if len(self._pending.recompute) >= RECOMPUTE_BATCH:
            self._send_now()
            return
        delay = self.delivery_delay if self._pending.deliveries else self.recompute_delay
        due = loop.time() + delay
        if self._timer is None or self._timer.when() > due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(due, self._send_now)

    def _send_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        jobs, self._pending = self._pending, Jobs()
        if not jobs:
            return
        if self._in_flight >= MAX_IN_FLIGHT:  # the broker hangs: don't pile threads behind it
            logger.warning(
                "broker busy; %d recompute(s) and %d webhook delivery(ies) left to the sweeps",
                len(jobs.recompute),
                len(jobs.deliveries),
            )
            return
        task = asyncio.get_running_loop().create_task(self._send(jobs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, jobs: Jobs) -> None:
        self._in_flight += 1
        work = asyncio.create_task(asyncio.to_thread(self._enqueue, jobs))
        work.add_done_callback(self._release)
        try:
            await asyncio.wait_for(asyncio.shield(work), ENQUEUE_TIMEOUT_SECONDS)
        except Exception as exc:  # committed: the dirty marks and pending rows recover it
            logger.warning(
                "enqueue of %d recompute(s) and %d webhook delivery(ies) failed (%s);"
                " the sweeps will send them",
                len(jobs.recompute),
                len(jobs.deliveries),
                type(exc).__name__,
            )

    def _enqueue(self, jobs: Jobs) -> None:
        """In a thread: deliveries first (a person waits on them), then the recomputes."""
        if jobs.deliveries:
            enqueue_deliveries(self.broker, jobs.deliveries)
        if jobs.recompute:
            enqueue_recompute(self.broker, sorted(jobs.recompute))

    def _release(self, work: asyncio.Task[None]) -> None:
        """The enqueue thread has returned (even one that outlived its wait)."""
        self._in_flight -= 1
        if not work.cancelled() and work.exception() is not None:
            logger.debug("late enqueue failure: %s", type(work.exception()).__name__)

    @property
    def pending_ids(self) -> list[uuid.UUID]:
        """What waits for the next send (tests)."""
        return [*self._pending.recompute, *self._pending.deliveries]

    async def drain(self) -> None:
        """Send what is pending and wait for the sends (shutdown, and tests)."""
        self._send_now()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
