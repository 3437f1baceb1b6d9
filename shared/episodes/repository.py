"""Loading an episode's events, folding them, and writing the fold back to the episode row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import driver_sql
from shared.models import Episode
from shared.rules.bounds import STORED
from shared.rules.events import EVENT_ADAPTER, RecordedEvent
from shared.rules.fold import fold
from shared.rules.rule_set import RuleSet
from shared.rules.state import EpisodeState

STATE_ADAPTER: TypeAdapter[EpisodeState] = TypeAdapter(EpisodeState)
# Every transaction that locks several episodes takes them in this one order, so none waits on
# another in a cycle (a deadlock): the stay key in byte order, which for UTF-8 is the order
# Python's sorted() gives the same strings (ingestion's upsert sorts its rows that way).
EPISODE_LOCK_ORDER = (Episode.hospital_id.collate("C"), Episode.encounter_ref.collate("C"))


class StoredEvent(Protocol):
    """A recorded event as read for folding (a ``StoredRow``, or a result row of the same
    columns; no entity)."""

    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def episode_id(self) -> uuid.UUID: ...
    @property
    def seq(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def hospital_id(self) -> str: ...
    @property
    def poster_org_id(self) -> str: ...
    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def recorded_at(self) -> datetime: ...


class StoredRow(NamedTuple):
    """What ``load_events`` reads: one stored event's columns."""

    event_id: uuid.UUID
    episode_id: uuid.UUID
    seq: int
    type: str
    occurred_at: datetime
    hospital_id: str
    poster_org_id: str
    body: dict[str, Any]
    recorded_at: datetime


# Every fold of ingestion and of the worker reads through this, so it goes to asyncpg directly
# (shared.core.driver_sql says why); the body travels as text and is parsed here.
_EVENTS_OR_IDS = """
SELECT event_id, episode_id, seq, type, occurred_at, hospital_id, poster_org_id, body::text,
       recorded_at
FROM events
WHERE episode_id = ANY($1::uuid[]) OR (event_id = ANY($2::uuid[]) AND poster_org_id = $3)
ORDER BY seq
"""


def recorded(row: StoredEvent) -> RecordedEvent:
    """A stored event as the rule engine sees it."""
    return recorded_columns(row.body, row.seq, row.poster_org_id)


def recorded_columns(body: dict[str, Any], seq: int, poster_org_id: str) -> RecordedEvent:
    """The same from plain columns, for bulk readers that skip building ORM objects."""
    return RecordedEvent(
        event=EVENT_ADAPTER.validate_python(body, context=STORED),
        seq=seq,
        poster_org_id=poster_org_id,
    )


async def load_events(
    session: AsyncSession,
    episode_ids: Sequence[uuid.UUID],
    event_ids: Sequence[uuid.UUID] = (),
    poster: str = "",
) -> list[StoredEvent]:
    """Every event of the episodes and any event ``poster`` stored under the ids, in arrival
    order (an event_id is unique per poster: another's ids are never looked up)."""
    if not episode_ids and not event_ids:
        return []
    rows = await driver_sql.fetch(
        session, _EVENTS_OR_IDS, list(episode_ids), list(event_ids), poster
    )
    return [
        StoredRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                  row[8])
        for row in rows
    ]  # fmt: skip


async def events_by_episode(
    session: AsyncSession, episode_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StoredEvent]]:
    """Every stored event of many episodes in one query, grouped, in arrival order."""
    grouped: dict[uuid.UUID, list[StoredEvent]] = {}
    for row in await load_events(session, episode_ids):
        grouped.setdefault(row.episode_id, []).append(row)
    return grouped


def fold_rows(
    rows: Sequence[StoredEvent], rule_sets: Sequence[RuleSet], now: datetime
) -> EpisodeState:
    """Fold stored rows with the pure engine."""
    return fold([recorded(r) for r in rows], rule_sets, now)


# The episode columns a fold sets: the keys state_columns() returns.
STATE_COLUMNS = (
    "state", "party_org_ids", "care_office_id", "admitted_at", "discharged_at",
    "planned_discharge_date", "admission_info_deadline", "admission_info_at",
    "first_coordination_at", "has_admission",
)  # fmt: skip


def state_columns(state: EpisodeState) -> dict[str, Any]:
    """The episode columns a fold sets: the JSON state and the columns lists query by.

    ``party_org_ids`` is the fold's parties and nothing else: who posted is no part of it.
    """
    return {
        "state": state_json(state),
        "party_org_ids": sorted(state.party_org_ids),
        "care_office_id": state.care_office_id,
        "admitted_at": state.admitted_at,
        "discharged_at": state.discharged_at,
        "planned_discharge_date": state.planned_discharge_date,
        "admission_info_deadline": state.admission_info_deadline,
        "admission_info_at": state.admission_info_at,
        "first_coordination_at": state.first_coordination_at,
        "has_admission": state.has_admission,
    }


def apply_state(episode: Episode, state: EpisodeState) -> None:
    """Copy the fold onto a loaded episode (the worker's ORM path)."""
    for column, value in state_columns(state).items():
        setattr(episode, column, value)


def state_json(state: EpisodeState) -> dict[str, Any]:
    """The fold as JSON for the ``episodes.state`` column."""
    data: dict[str, Any] = STATE_ADAPTER.dump_python(state, mode="json")
    return data
