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


async def after_commit_recompute(request: Request, episode_ids: Iterable[uuid.UUID]) -> None:
    """Enqueue recomputes once the events are committed; a failure only delays the sweep."""
    ids = sorted(set(episode_ids))
    if not ids or not request.app.state.settings.enqueue_enabled:
        return
    broker: dramatiq.Broker = request.app.state.broker
    try:
        await asyncio.wait_for(
            asyncio.to_thread(enqueue_recompute, broker, ids), ENQUEUE_TIMEOUT_SECONDS
        )
    except Exception as exc:  # the dirty mark is committed: the periodic sweep recovers
        logger.warning(
            "enqueue of %d recompute(s) failed (%s); the sweep will retry",
            len(ids),
            type(exc).__name__,
        )
