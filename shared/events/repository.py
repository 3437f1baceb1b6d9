"""The statements ingestion runs: lock stays, insert events, write episodes' folds.

They run on every event of every way in, so they go to asyncpg directly through
``shared.core.driver_sql`` (why, and what it keeps true, is said there); each statement takes
any number of rows as arrays, so a single POST and a batch of 1000 send the same text. The
rare cleanup (``drop_if_empty``) stays SQLAlchemy Core.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import driver_sql
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


# Rows are taken in the arrays' order (WITH ORDINALITY … ORDER BY), which is the lock order.
_LOCK_STAYS = """
INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, state, version,
                      computed_version, has_admission)
SELECT k.id, k.hospital_id, k.encounter_ref, ARRAY[k.hospital_id], '{}'::jsonb, 1, 0, false
FROM unnest($1::uuid[], $2::varchar[], $3::varchar[]) WITH ORDINALITY
     AS k(id, hospital_id, encounter_ref, n)
ORDER BY k.n
ON CONFLICT (hospital_id, encounter_ref) DO UPDATE SET version = episodes.version + 1
RETURNING id, hospital_id, encounter_ref, version
"""
# In the given order, so the events' seq (the fold's arrival order) follows the posting order.
_INSERT_EVENTS = """
INSERT INTO events (event_id, episode_id, type, occurred_at, hospital_id, poster_org_id,
                    poster_key_id, cancels_event_id, body)
SELECT r.event_id, r.episode_id, r.type, r.occurred_at, r.hospital_id, r.poster_org_id,
       r.poster_key_id, r.cancels_event_id, r.body::jsonb
FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::timestamptz[], $5::varchar[],
            $6::varchar[], $7::uuid[], $8::uuid[], $9::text[]) WITH ORDINALITY
     AS r(event_id, episode_id, type, occurred_at, hospital_id, poster_org_id, poster_key_id,
          cancels_event_id, body, n)
ORDER BY r.n
ON CONFLICT (poster_org_id, event_id) DO NOTHING
RETURNING event_id, recorded_at
"""
_EVENT_COLUMNS = (
    "event_id", "episode_id", "type", "occurred_at", "hospital_id", "poster_org_id",
    "poster_key_id", "cancels_event_id",
)  # fmt: skip
# The fold's columns (STATE_COLUMNS, in that order from $2: a test reads them back from this
# text), and the dirty mark kept if already set (the oldest unfolded change); updated_at as the
# model's onupdate would set it.
WRITE_EPISODE = """
UPDATE episodes SET state = $2::text::jsonb, party_org_ids = $3::varchar[],
       care_office_id = $4::varchar, admitted_at = $5::timestamptz,
       discharged_at = $6::timestamptz, planned_discharge_date = $7::date,
       admission_info_deadline = $8::date, admission_info_at = $9::timestamptz,
       first_coordination_at = $10::timestamptz, has_admission = $11::boolean,
       dirty_since = coalesce(dirty_since, $12::timestamptz), updated_at = now()
WHERE id = $1::uuid
"""
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
    ordered = sorted(keys)
    rows = await driver_sql.fetch(
        session,
        _LOCK_STAYS,
        [uuid.uuid4() for _ in ordered],
        [h for h, _ in ordered],
        [r for _, r in ordered],
    )
    return [LockedEpisode(*row) for row in rows]


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[uuid.UUID, Any]:
    """Insert the rows in one statement; returns recorded_at of those not stored before."""
    columns = [[row[c] for row in rows] for c in _EVENT_COLUMNS]
    bodies = [json.dumps(row["body"]) for row in rows]
    stored = await driver_sql.fetch(session, _INSERT_EVENTS, *columns, bodies)
    return {row[0]: row[1] for row in stored}


async def write_episodes(session: AsyncSession, folds: list[dict[str, Any]], now: datetime) -> None:
    """Write each episode's fold columns (``episode_id`` plus STATE_COLUMNS) and mark it dirty."""
    if folds:
        args = [
            (f["episode_id"], json.dumps(f["state"]), *(f[c] for c in STATE_COLUMNS[1:]), now)
            for f in folds
        ]
        await driver_sql.execute_many(session, WRITE_EPISODE, args)


async def drop_if_empty(session: AsyncSession, episode_ids: Sequence[uuid.UUID]) -> None:
    """Delete episodes that hold no event (created by a call whose events were all refused)."""
    if episode_ids:
        await session.execute(_DROP_EMPTY, {"ids": list(episode_ids)})
