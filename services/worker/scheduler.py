"""The periodic scheduler (periodiq) and the database row that lets each slot run only once."""

from __future__ import annotations

import logging
import signal
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SWEEP_JOB = "sweep"
SWEEP_CRON = "* * * * *"
ACTORS_MODULE = "services.worker.actors"

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
    WHERE (j.last_slot IS NULL OR j.last_slot < EXCLUDED.last_slot)
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


async def claim_slot(
    session: AsyncSession, job_name: str, slot: datetime, lease: timedelta, owner: str
) -> bool:
    """One atomic upsert: True for exactly one claimant of a newer slot, none while leased."""
    result = await session.execute(
        _CLAIM, {"name": job_name, "slot": slot, "lease": lease, "owner": owner[:128]}
    )
    return result.first() is not None


async def finish_slot(session: AsyncSession, job_name: str, slot: datetime, owner: str) -> None:
    """Record the run as finished and release its lease."""
    await session.execute(_FINISH, {"name": job_name, "slot": slot, "owner": owner[:128]})


async def release_slot(session: AsyncSession, job_name: str, slot: datetime, owner: str) -> None:
    """A failed run gives its lease back so the next slot is not blocked."""
    await session.execute(_RELEASE, {"name": job_name, "slot": slot, "owner": owner[:128]})


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
