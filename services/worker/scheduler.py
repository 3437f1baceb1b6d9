"""The periodic scheduler (periodiq) and the database row that lets each slot run only once."""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import unit_of_work
from shared.rules.calendar import local_date
from shared.rules.zone import TOKYO

SWEEP_JOB = "sweep"
SWEEP_CRON = "* * * * *"
ACTORS_MODULE = "services.worker.actors"
LEASE = timedelta(minutes=5)
OWNER = f"{socket.gethostname()}:{os.getpid()}"
logger = logging.getLogger("handover.worker")

_CLAIM = text(
    """
    INSERT INTO periodic_jobs AS j (name, last_slot, started_at, finished_at, locked_until, owner)
    VALUES (:name, :slot, now(), NULL, now() + CAST(:lease AS interval), :owner)
    ON CONFLICT (name) DO UPDATE SET
        last_slot = EXCLUDED.last_slot,
        started_at = EXCLUDED.started_at,
        finished_at = NULL,
        locked_until = EXCLUDED.locked_until,
        owner = EXCLUDED.owner
    WHERE (j.last_slot IS NULL OR j.last_slot < EXCLUDED.last_slot
           OR (j.last_slot = EXCLUDED.last_slot AND j.finished_at IS NULL))
      AND (j.finished_at IS NOT NULL OR j.locked_until IS NULL OR j.locked_until <= now())
    RETURNING j.name
    """
)

_FINISH = text(
    """
    UPDATE periodic_jobs SET finished_at = now(), locked_until = NULL
    WHERE name = :name AND last_slot = :slot AND owner = :owner
    """
)


_RELEASE = text(
    """
    UPDATE periodic_jobs SET locked_until = NULL
    WHERE name = :name AND last_slot = :slot AND owner = :owner AND finished_at IS NULL
    """
)


def minute_slot(now: datetime) -> datetime:
    """The slot a run belongs to: its minute, truncated."""
    return now.replace(second=0, microsecond=0)


def day_slot(now: datetime) -> datetime:
    """The slot of a once-a-day job: midnight of the Asia/Tokyo day ``now`` falls in."""
    return datetime.combine(local_date(now), time(0), TOKYO)


async def claim_slot(
    session: AsyncSession, job_name: str, slot: datetime, lease: timedelta, owner: str
) -> bool:
    """One atomic upsert: True for exactly one claimant of a slot, none while it is leased.

    A slot is claimable when it is newer than the last one, or is the last one and never
    finished (its run failed and released it, or its lease expired): a failed run is retried.
    """
    result = await session.execute(
        _CLAIM, {"name": job_name, "slot": slot, "lease": lease, "owner": owner[:128]}
    )
    return result.first() is not None


async def finish_slot(session: AsyncSession, job_name: str, slot: datetime, owner: str) -> None:
    """Record the run as finished and release its lease."""
    await session.execute(_FINISH, {"name": job_name, "slot": slot, "owner": owner[:128]})


async def release_slot(session: AsyncSession, job_name: str, slot: datetime, owner: str) -> None:
    """A failed run gives its lease back so the slot can be claimed again at once."""
    await session.execute(_RELEASE, {"name": job_name, "slot": slot, "owner": owner[:128]})


@asynccontextmanager
async def periodic_slot(
    session: AsyncSession,
    job_name: str,
    slot: datetime,
    lease: timedelta = LEASE,
    owner: str = OWNER,
) -> AsyncIterator[bool]:
    """Claim ``slot`` of ``job_name``; yield whether it was claimed (the body skips if not).

    Each step is its own transaction on ``session``, which must have none open on entry. A
    body that returns finishes the slot; one that raises releases it, so the next claim of the
    same slot (the next minute's sweep) runs it again.
    """
    async with unit_of_work.transaction(session):
        claimed = await claim_slot(session, job_name, slot, lease, owner)
    if not claimed:
        yield False
        return
    try:
        yield True
    except BaseException:
        await _release_after_failure(session, job_name, slot, owner)
        raise
    async with unit_of_work.transaction(session):
        await finish_slot(session, job_name, slot, owner)


async def _release_after_failure(
    session: AsyncSession, job_name: str, slot: datetime, owner: str
) -> None:
    """Give the lease back; if even that fails, the lease runs out on its own."""
    try:
        if session.in_transaction():
            await unit_of_work.rollback(session)
        async with unit_of_work.transaction(session):
            await release_slot(session, job_name, slot, owner)
    except Exception as exc:
        logger.warning(
            "could not release %s slot %s (%s); its lease will expire",
            job_name,
            slot.isoformat(),
            type(exc).__name__,
        )


def run_scheduler() -> int:
    """Run periodiq on the actors module: it sends ``sweep`` at the start of every minute."""
    import periodiq
    from dramatiq.cli import LOGFORMAT

    logging.basicConfig(level=logging.INFO, format=LOGFORMAT)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C, exit 0
    args = periodiq.make_argument_parser().parse_args([ACTORS_MODULE])
    try:
        return int(periodiq.main(args))
    except KeyboardInterrupt:
        return 0
