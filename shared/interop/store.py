"""The database side of messages in: remembered messages, the stay lookup and cancel targets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import String, exists, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.core import driver_sql
from shared.interop.hl7v2.mapping import Fingerprint
from shared.models import Episode, EventRecord, InboundMessage
from shared.rules.events import ADMIN_POSTER

BLANK_BATCH = 5000  # rows a statement blanks: short transactions beside live ingestion
CancelKind = Literal["admission", "discharge", "plan"]
TARGET_TYPES: dict[CancelKind, str] = {
    "admission": "admission",
    "discharge": "discharge",
    "plan": "discharge_planned",
}


# Every message runs these three (the duplicate check, the stay's patients, keeping it), so
# they go to asyncpg directly like ingestion's statements (shared.core.driver_sql says why).
_SEEN = """
SELECT 1 FROM inbound_messages
WHERE hospital_id = $1 AND control_id = $2 AND trigger = $3 AND content_sha256 = $4
LIMIT 1
"""
_REMEMBER = """
INSERT INTO inbound_messages (id, channel, hospital_id, control_id, trigger, content_sha256, raw,
                              outcome, event_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'stored', $8::uuid[])
ON CONFLICT ON CONSTRAINT uq_inbound_messages_fingerprint DO NOTHING
RETURNING id
"""
# The patient ids its admission and stay updates carry (none: an empty array, not NULL).
_STAY = """
SELECT coalesce(
    (SELECT array_agg(DISTINCT e.body -> 'patient' ->> 'hospital_patient_id')
     FROM events e
     WHERE e.episode_id = episodes.id AND e.type IN ('admission', 'stay_update')
       AND e.body -> 'patient' ->> 'hospital_patient_id' IS NOT NULL),
    '{}'::text[])
FROM episodes
WHERE hospital_id = $1 AND encounter_ref = $2
"""


async def seen(session: AsyncSession, fingerprint: Fingerprint) -> bool:
    """Whether this very message (same fingerprint) was stored before."""
    f = fingerprint
    found = await driver_sql.fetch(
        session, _SEEN, f.hospital_id, f.control_id, f.trigger, f.content_sha256
    )
    return bool(found)


async def remember(
    session: AsyncSession,
    channel: str,
    fingerprint: Fingerprint,
    raw: bytes,
    event_ids: Sequence[str],
) -> bool:
    """Keep the message with its events (caller's transaction); False if a twin got there first."""
    f = fingerprint
    kept = await driver_sql.fetch(
        session, _REMEMBER, uuid.uuid4(), channel, f.hospital_id, f.control_id[:200],
        f.trigger[:40], f.content_sha256, raw, [uuid.UUID(e) for e in event_ids],
    )  # fmt: skip
    return bool(kept)


@dataclass(frozen=True, slots=True)
class Stay:
    """What a message needs to know of a stay it names: that it exists, and whose it is."""

    patient_ids: frozenset[str]


async def stay(session: AsyncSession, hospital_id: str, encounter_ref: str) -> Stay | None:
    """The stay (None: the service does not know it) with the patient ids its admission and
    stay updates carry."""
    rows = await driver_sql.fetch(session, _STAY, hospital_id, encounter_ref)
    return Stay(frozenset(rows[0][0])) if rows else None


async def stored_events(
    session: AsyncSession, hospital_id: str, event_ids: Sequence[str]
) -> dict[str, str | None]:
    """The hospital's given events that are stored, each with the event it cancels (None: not
    a cancel)."""
    query = select(EventRecord.event_id, EventRecord.cancels_event_id).where(
        EventRecord.hospital_id == hospital_id,
        EventRecord.event_id.in_([uuid.UUID(e) for e in event_ids]),
    )
    rows = (await session.execute(query)).all()
    return {str(e): (str(c) if c is not None else None) for e, c in rows}


async def latest_episode(
    session: AsyncSession,
    hospital_id: str,
    hospital_patient_id: str,
    state: Literal["open", "discharged"],
) -> str | None:
    """encounter_ref of the patient's latest admitted stay at the hospital, open or discharged."""
    # Literal keys, as ix_events_admission_hospital_patient_id is written: bound ones miss it.
    patient_id = literal_column("(events.body -> 'patient' ->> 'hospital_patient_id')", String)
    if state == "open":
        discharged = Episode.discharged_at.is_(None)
    else:
        discharged = Episode.discharged_at.isnot(None)
    query = (
        select(Episode.encounter_ref)
        .join(EventRecord, EventRecord.episode_id == Episode.id)
        .where(
            EventRecord.hospital_id == hospital_id,
            EventRecord.type == "admission",
            patient_id == hospital_patient_id,
            Episode.hospital_id == hospital_id,
            Episode.has_admission.is_(True),
            discharged,
        )
        .order_by(Episode.admitted_at.desc().nulls_last(), EventRecord.seq.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def cancel_target(
    session: AsyncSession, hospital_id: str, encounter_ref: str, kind: CancelKind
) -> str | None:
    """The stay's latest admission / discharge / discharge plan that is not cancelled yet."""
    cancel = aliased(EventRecord)
    # The hospital's own events (an event_id is unique per poster), cancelled by it or the operator.
    not_cancelled = ~exists().where(
        cancel.type == "cancel",
        cancel.cancels_event_id == EventRecord.event_id,
        cancel.episode_id == EventRecord.episode_id,
        cancel.poster_org_id.in_([hospital_id, ADMIN_POSTER]),
    )
    query = (
        select(EventRecord.event_id)
        .join(Episode, EventRecord.episode_id == Episode.id)
        .where(
            Episode.hospital_id == hospital_id,
            Episode.encounter_ref == encounter_ref,
            EventRecord.type == TARGET_TYPES[kind],
            EventRecord.poster_org_id == hospital_id,
            not_cancelled,
        )
        .order_by(EventRecord.seq.desc())
        .limit(1)
    )
    found = (await session.execute(query)).scalar_one_or_none()
    return None if found is None else str(found)


async def blank_raw_before(
    session: AsyncSession, before: datetime, batch: int = BLANK_BATCH
) -> int:
    """Blank the raw bytes of up to ``batch`` messages received before ``before``; their count.

    The row stays: its fingerprint still recognises a resend, its event ids still say what it
    produced. Rows another transaction holds are skipped, so the purge never waits on ingestion.
    """
    oldest = (
        select(InboundMessage.id)
        .where(InboundMessage.raw.is_not(None), InboundMessage.received_at < before)
        .order_by(InboundMessage.received_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(oldest.scalar_subquery()))
        .values(raw=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
