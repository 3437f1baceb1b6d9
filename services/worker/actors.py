"""Worker entry module (``dramatiq services.worker.actors``): broker from settings, actors."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import dramatiq
from periodiq import cron
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.worker.scheduler import SWEEP_CRON, SWEEP_JOB, day_slot, minute_slot, periodic_slot
from shared.core import unit_of_work
from shared.core.settings import get_settings
from shared.episodes import recompute
from shared.episodes.rebuild import rebuild_aggregates
from shared.interop.store import BLANK_BATCH, blank_raw_before
from shared.models import Ping
from shared.queue.broker import broker_url_from_settings, get_broker, worker_sessionmaker
from shared.queue.enqueue import (
    DEFAULT_QUEUE,
    PING_ACTOR,
    REBUILD_ACTOR,
    RECOMPUTE_ACTOR,
    SWEEP_ACTOR,
    enqueue_recompute,
)
from shared.sheets.store import purge_expired

logger = logging.getLogger("handover.worker")

# The one import-time side effect allowed in the codebase: this module *is* the worker entry.
broker = get_broker(broker_url_from_settings())
dramatiq.set_broker(broker)
from services.worker import webhook_actors  # noqa: E402, F401  (issue 14: after the broker is set)

DIRTY_GRACE = timedelta(seconds=5)
DEADLINES_JOB = "deadlines"
RAW_MESSAGES_JOB = "raw_messages"
SHEETS_JOB = "sheet_retention"
REBUILD_LIMIT_MS = 6 * 60 * 60_000  # a rebuild of millions of episodes takes a while
# A failed recompute message is the database's fault (episodes are set aside, not retried):
# 5 retries over about a minute (2 s, doubling), then it is dropped; the sweep re-enqueues
# whatever is still dirty.
RECOMPUTE_RETRIES = 5
RECOMPUTE_MIN_BACKOFF_MS = 2_000
RECOMPUTE_MAX_BACKOFF_MS = 60_000


def _session() -> AsyncSession:
    return worker_sessionmaker(broker)()


@dramatiq.actor(actor_name=PING_ACTOR, queue_name=DEFAULT_QUEUE, max_retries=3)
async def ping(token: str) -> None:
    """Mark the ping processed: the API's proof that broker and worker are alive."""
    async with _session() as session, unit_of_work.transaction(session):
        await session.execute(
            update(Ping).where(Ping.token == uuid.UUID(token)).values(processed_at=func.now())
        )


@dramatiq.actor(
    actor_name=RECOMPUTE_ACTOR,
    queue_name=DEFAULT_QUEUE,
    max_retries=RECOMPUTE_RETRIES,
    min_backoff=RECOMPUTE_MIN_BACKOFF_MS,
    max_backoff=RECOMPUTE_MAX_BACKOFF_MS,
)
async def recompute_episodes(episode_ids: list[str]) -> None:
    """Refold episodes, their flags and aggregates in one transaction; safe to run twice.

    An episode whose fold raises is set aside and the rest committed, so only a database outage
    fails the message: it is retried a bounded number of times, then the sweep takes over.
    """
    ids = [uuid.UUID(i) for i in episode_ids]
    async with _session() as session, unit_of_work.transaction(session):
        await recompute.recompute_episodes(session, ids, datetime.now(UTC))


@dramatiq.actor(
    actor_name=REBUILD_ACTOR, queue_name=DEFAULT_QUEUE, max_retries=0, time_limit=REBUILD_LIMIT_MS
)
async def rebuild_metrics() -> None:
    """Rebuild every daily aggregate from the event log (as `handover rebuild-metrics` does)."""
    async with _session() as session, unit_of_work.transaction(session):
        folded = await rebuild_aggregates(session, datetime.now(UTC))
    logger.info("rebuilt aggregates from %d episode(s)", folded)


async def _refresh_deadlines(session: AsyncSession) -> int:
    """Once per local day: recompute open stays whose deadline passed with no event.

    A refresh that fails (the broker is down) releases its day, so the next sweep retries it.
    """
    now = datetime.now(UTC)
    day = day_slot(now)
    async with periodic_slot(session, DEADLINES_JOB, day) as claimed:
        if not claimed:
            return 0
        enqueued = 0
        async with unit_of_work.transaction(session):
            async for batch in recompute.deadline_episode_batches(session, now):
                await asyncio.to_thread(enqueue_recompute, broker, batch)
                enqueued += len(batch)
    logger.info("deadline refresh %s enqueued %d episode(s)", day.date().isoformat(), enqueued)
    return enqueued


async def _blank_raw_messages(session: AsyncSession) -> int:
    """Once per local day: blank raw messages older than HANDOVER_RAW_MESSAGE_DAYS, in batches.

    Each batch is its own short transaction; a failure releases the day for the next sweep.
    """
    now = datetime.now(UTC)
    day = day_slot(now)
    before = now - timedelta(days=get_settings().raw_message_days)
    blanked = 0
    async with periodic_slot(session, RAW_MESSAGES_JOB, day) as claimed:
        if not claimed:
            return 0
        while True:
            async with unit_of_work.transaction(session):
                done = await blank_raw_before(session, before)
            blanked += done
            if done < BLANK_BATCH:
                break
    logger.info("raw messages before %s blanked: %d", before.date().isoformat(), blanked)
    return blanked


async def _purge_sheets(session: AsyncSession) -> int:
    """Once per local day: delete the sheets kept past their kind's retention days."""
    now = datetime.now(UTC)
    async with periodic_slot(session, SHEETS_JOB, day_slot(now)) as claimed:
        if not claimed:
            return 0
        async with unit_of_work.transaction(session):
            purged = await purge_expired(session, get_settings(), now)
    logger.info("sheets past their retention deleted: %d", purged)
    return purged


async def _requeue_dirty(session: AsyncSession) -> int:
    """Enqueue the episodes left dirty past the grace period (their message was lost)."""
    requeued = 0
    async with unit_of_work.transaction(session):
        batches = recompute.dirty_episode_batches(session, datetime.now(UTC) - DIRTY_GRACE)
        async for batch in batches:
            await asyncio.to_thread(enqueue_recompute, broker, batch)
            requeued += len(batch)
    return requeued


@dramatiq.actor(
    actor_name=SWEEP_ACTOR, queue_name=DEFAULT_QUEUE, max_retries=0, periodic=cron(SWEEP_CRON)
)
async def sweep() -> None:
    """Once per minute slot (guarded in the database): re-enqueue recomputes the broker lost."""
    slot = minute_slot(datetime.now(UTC))
    async with _session() as session, periodic_slot(session, SWEEP_JOB, slot) as claimed:
        if not claimed:
            logger.info("sweep slot %s already claimed; skipping", slot.isoformat())
            return
        requeued = await _requeue_dirty(session)
        requeued += await _refresh_deadlines(session)
        await _blank_raw_messages(session)
        await _purge_sheets(session)
    logger.info("sweep %s re-enqueued %d dirty episode(s)", slot.isoformat(), requeued)
