"""The database side of messages in: remembered messages, the stay lookup and cancel targets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import String, distinct, exists, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


async def seen(session: AsyncSession, fingerprint: Fingerprint) -> bool:
    """Whether this very message (same fingerprint) was stored before."""
    query = select(InboundMessage.id).where(
        InboundMessage.hospital_id == fingerprint.hospital_id,
        InboundMessage.control_id == fingerprint.control_id,
        InboundMessage.trigger == fingerprint.trigger,
        InboundMessage.content_sha256 == fingerprint.content_sha256,
    )
    return (await session.execute(query.limit(1))).first() is not None


async def remember(
    session: AsyncSession,
    channel: str,
    fingerprint: Fingerprint,
    raw: bytes,
    event_ids: Sequence[str],
) -> bool:
    """Keep the message with its events (caller's transaction); False if a twin got there first."""
    statement = (
        insert(InboundMessage)
        .values(
            id=uuid.uuid4(),
            channel=channel,
            hospital_id=fingerprint.hospital_id,
            control_id=fingerprint.control_id[:200],
            trigger=fingerprint.trigger[:40],
            content_sha256=fingerprint.content_sha256,
            raw=raw,
            outcome="stored",
            event_ids=[uuid.UUID(e) for e in event_ids],
        )
        .on_conflict_do_nothing(constraint="uq_inbound_messages_fingerprint")
        .returning(InboundMessage.id)
    )
    return (await session.execute(statement)).first() is not None


@dataclass(frozen=True, slots=True)
class Stay:
    """What a message needs to know of a stay it names: that it exists, and whose it is."""

    patient_ids: frozenset[str]


async def stay(session: AsyncSession, hospital_id: str, encounter_ref: str) -> Stay | None:
    """The stay (None: the service does not know it) with the patient ids its admission and
    stay updates carry."""
    patient_id = EventRecord.body["patient"]["hospital_patient_id"].astext
    ids = (
        select(func.array_agg(distinct(patient_id)))
        .where(
            EventRecord.episode_id == Episode.id,
            EventRecord.type.in_(("admission", "stay_update")),
            patient_id.is_not(None),
        )
        .scalar_subquery()
    )
    query = select(Episode.id, ids).where(
        Episode.hospital_id == hospital_id, Episode.encounter_ref == encounter_ref
    )
    row = (await session.execute(query)).first()
    return None if row is None else Stay(frozenset(row[1] or ()))


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
