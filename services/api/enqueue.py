"""After-commit hand-off of episode recomputes to the broker: a fast path, never the record."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable

import dramatiq
from fastapi import Request

from services.worker.bridge import enqueue_recompute

logger = logging.getLogger("handover.api.enqueue")
ENQUEUE_TIMEOUT_SECONDS = 2.0
MAX_IN_FLIGHT = 4  # enqueue threads a hung broker may hold; past that, leave it to the sweep
_in_flight = 0


async def after_commit_recompute(request: Request, episode_ids: Iterable[uuid.UUID]) -> None:
    """Enqueue recomputes once the events are committed; a failure only delays the sweep."""
    ids = sorted(set(episode_ids))
    if not ids or not request.app.state.settings.enqueue_enabled:
        return
    global _in_flight
    if _in_flight >= MAX_IN_FLIGHT:  # the broker hangs: don't pile threads up behind it
        logger.warning("broker busy; %d recompute(s) left to the sweep", len(ids))
        return
    broker: dramatiq.Broker = request.app.state.broker
    _in_flight += 1
    work = asyncio.create_task(asyncio.to_thread(enqueue_recompute, broker, ids))
    work.add_done_callback(_release)
    try:
        await asyncio.wait_for(asyncio.shield(work), ENQUEUE_TIMEOUT_SECONDS)
    except Exception as exc:  # the dirty mark is committed: the periodic sweep recovers
        logger.warning(
            "enqueue of %d recompute(s) failed (%s); the sweep will retry",
            len(ids),
            type(exc).__name__,
        )


def _release(task: asyncio.Task[None]) -> None:
    """The enqueue thread has returned (even one that outlived its request)."""
    global _in_flight
    _in_flight -= 1
    if not task.cancelled() and task.exception() is not None:
        logger.debug("late enqueue failure: %s", type(task.exception()).__name__)
