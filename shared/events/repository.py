"""The statements ingestion runs: lock stays, insert events, write episodes' folds.

SQLAlchemy Core with statements built once (cached compiled forms) and plain rows, not ORM
entities: a POST runs these on every event (what the ORM cost: docs/performance.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.episodes.repository import STATE_COLUMNS
from shared.models import Episode, EventRecord

EPISODES = cast(Table, Episode.__table__)
EVENTS = cast(Table, EventRecord.__table__)


@dataclass(frozen=True, slots=True)
class LockedEpisode:
    """An episode row locked by this transaction; version 1 means inserted just now."""

    id: uuid.UUID
    hospital_id: str
    encounter_ref: str
    version: int


# Rows as execute() parameters, not .values(rows): a multi-VALUES statement has no cache key,
# so SQLAlchemy would compile it again on every call (docs/performance.md).
_LOCK_STAYS = (
    insert(EPISODES)
    .on_conflict_do_update(
        index_elements=["hospital_id", "encounter_ref"], set_={"version": EPISODES.c.version + 1}
    )
    .returning(EPISODES.c.id, EPISODES.c.hospital_id, EPISODES.c.encounter_ref, EPISODES.c.version)
)
_INSERT_EVENTS = (
    insert(EVENTS)
    .on_conflict_do_nothing(index_elements=["poster_org_id", "event_id"])
    .returning(EVENTS.c.event_id, EVENTS.c.recorded_at)
)
# The fold's columns, and the dirty mark kept if already set (the oldest unfolded change).
_WRITE_EPISODE = (
    update(EPISODES)
    .where(EPISODES.c.id == bindparam("episode_id"))
    .values(
        {
            **{c: bindparam(f"new_{c}", type_=EPISODES.c[c].type) for c in STATE_COLUMNS},
            "dirty_since": func.coalesce(EPISODES.c.dirty_since, bindparam("now")),
        }
    )
)
_DROP_EMPTY = delete(EPISODES).where(
    EPISODES.c.id.in_(bindparam("ids", expanding=True)),
    ~exists().where(EVENTS.c.episode_id == EPISODES.c.id),
)


async def lock_episodes(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> list[LockedEpisode]:
    """Create or lock the episodes of these (hospital_id, encounter_ref) keys, in key order.

    sorted() is byte order of the UTF-8 keys: ``shared.episodes.repository.EPISODE_LOCK_ORDER``.
    """
    rows = [
        {"id": uuid.uuid4(), "hospital_id": h, "encounter_ref": r, "party_org_ids": [h],
         "state": {}, "version": 1, "computed_version": 0, "has_admission": False}
        for h, r in sorted(keys)
    ]  # fmt: skip
    return [LockedEpisode(*row) for row in await session.execute(_LOCK_STAYS, rows)]


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[uuid.UUID, Any]:
    """Insert the rows in one statement; returns recorded_at of those not stored before."""
    # dict(result) would take Result.keys() for a mapping's: the rows are (id, recorded_at) pairs.
    return dict((await session.execute(_INSERT_EVENTS, rows)).all())


async def write_episodes(session: AsyncSession, folds: list[dict[str, Any]], now: datetime) -> None:
    """Write each episode's fold columns (``episode_id`` plus STATE_COLUMNS) and mark it dirty."""
    if folds:
        params = [
            {"episode_id": f["episode_id"], "now": now, **{f"new_{c}": f[c] for c in STATE_COLUMNS}}
            for f in folds
        ]
        await session.execute(_WRITE_EPISODE, params)


async def drop_if_empty(session: AsyncSession, episode_ids: Sequence[uuid.UUID]) -> None:
    """Delete episodes that hold no event (created by a call whose events were all refused)."""
    if episode_ids:
        await session.execute(_DROP_EMPTY, {"ids": list(episode_ids)})
