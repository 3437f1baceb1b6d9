"""Storing and reading sheets: sealed on the way in, unsealed only for an episode's parties.

Statements only; the callers own the transaction. ``settings`` gives the key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.core.settings import Settings
from shared.models import Episode, EventRecord, SheetRecord
from shared.rules.events import ADMIN_POSTER
from shared.sheets.sealing import reseal, seal, unseal


@dataclass(frozen=True, slots=True)
class NewSheet:
    """A sheet an event carries, as posted (``documents.as_posted``), about to be stored."""

    event_id: uuid.UUID
    poster_org_id: str  # with event_id, the event's identity (unique per posting organization)
    episode_id: uuid.UUID
    occurred_at: datetime
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredSheet:
    """One stored sheet with its event's facts, decrypted for a party."""

    id: uuid.UUID
    kind: str
    event_id: uuid.UUID
    posted_by: str
    occurred_at: datetime
    cancelled: bool
    sheet: dict[str, Any]


async def insert_sheets(
    session: AsyncSession, settings: Settings, sheets: Sequence[NewSheet]
) -> None:
    """One row per sheet, its items encrypted."""
    if not sheets:
        return
    rows = [
        {
            "id": uuid.uuid4(),
            "event_id": s.event_id,
            "poster_org_id": s.poster_org_id,
            "episode_id": s.episode_id,
            "kind": s.document["kind"],
            "version": s.document["version"],
            "sealed": seal(settings, s.document),
            "occurred_at": s.occurred_at,
        }
        for s in sheets
    ]
    await session.execute(insert(SheetRecord), rows)


async def sheets_of_events(
    session: AsyncSession, settings: Settings, poster_org_id: str, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The sheets stored with this poster's events (a replay compares them), decrypted."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(SheetRecord.event_id, SheetRecord.sealed).where(
            SheetRecord.poster_org_id == poster_org_id,
            SheetRecord.event_id.in_(list(event_ids)),
        )
    )
    return {row.event_id: unseal(settings, row.sealed) for row in rows}


def _its_event() -> Any:
    return and_(
        EventRecord.poster_org_id == SheetRecord.poster_org_id,
        EventRecord.event_id == SheetRecord.event_id,
    )


@dataclass(frozen=True, slots=True)
class SheetRef:
    """Which sheet an event carries, without its items."""

    id: uuid.UUID
    kind: str


async def sheets_by_event(
    session: AsyncSession, episode_id: uuid.UUID
) -> dict[tuple[str, uuid.UUID], SheetRef]:
    """The episode's events that carry a sheet, by (poster, event_id), decrypting nothing."""
    rows = await session.execute(
        select(
            SheetRecord.poster_org_id, SheetRecord.event_id, SheetRecord.id, SheetRecord.kind
        ).where(SheetRecord.episode_id == episode_id)
    )
    return {(row.poster_org_id, row.event_id): SheetRef(row.id, row.kind) for row in rows}


def _cancelled() -> Any:
    """A cancel of the sheet's event: by its poster, or the operator's (the fold's rule)."""
    cancel = aliased(EventRecord)
    return exists().where(
        cancel.episode_id == SheetRecord.episode_id,
        cancel.cancels_event_id == SheetRecord.event_id,
        cancel.poster_org_id.in_([SheetRecord.poster_org_id, ADMIN_POSTER]),
    )


async def episode_sheets(
    session: AsyncSession,
    settings: Settings,
    episode_id: uuid.UUID,
    sheet_id: uuid.UUID | None = None,
) -> list[StoredSheet]:
    """The episode's sheets in the order their events happened (or the one ``sheet_id``)."""
    query = (
        select(
            SheetRecord.id,
            SheetRecord.kind,
            SheetRecord.event_id,
            SheetRecord.sealed,
            EventRecord.poster_org_id,
            EventRecord.occurred_at,
            _cancelled().label("cancelled"),
        )
        .join(EventRecord, _its_event())
        .where(SheetRecord.episode_id == episode_id)
        .order_by(EventRecord.occurred_at, SheetRecord.id)
    )
    if sheet_id is not None:
        query = query.where(SheetRecord.id == sheet_id)
    return [
        StoredSheet(
            row.id,
            row.kind,
            row.event_id,
            row.poster_org_id,
            row.occurred_at,
            bool(row.cancelled),
            unseal(settings, row.sealed),
        )
        for row in await session.execute(query)
    ]


async def previous_sheet(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    poster_org_id: str,
    insurer_number: str,
    insured_number: str,
) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The latest sheet of ``kind`` this organization posted for this insured person, if any.

    The person is the stays' 被保険者番号 (insurer and insured numbers, from the episode's fold).

    Only the organization's own sheets: pre-filling never shows another office's sheet.
    """
    patient = Episode.state["patient"]
    row = (
        await session.execute(
            select(SheetRecord.episode_id, SheetRecord.sealed)
            .join(EventRecord, _its_event())
            .join(Episode, Episode.id == SheetRecord.episode_id)
            .where(
                SheetRecord.kind == kind,
                EventRecord.poster_org_id == poster_org_id,
                patient["insurer_number"].astext == insurer_number,
                patient["insured_number"].astext == insured_number,
            )
            .order_by(EventRecord.occurred_at.desc(), EventRecord.seq.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row.episode_id, unseal(settings, row.sealed))


async def purge_expired(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Delete the sheets kept longer than their kind's days; how many went."""
    days = {
        "admission_info_sheet": settings.admission_info_sheet_days,
        "discharge_info_sheet": settings.discharge_info_sheet_days,
    }
    expired = or_(
        *(
            and_(SheetRecord.kind == kind, SheetRecord.occurred_at < now - timedelta(days=n))
            for kind, n in days.items()
        )
    )
    result = await session.execute(delete(SheetRecord).where(expired))
    return int(getattr(result, "rowcount", 0) or 0)


async def rekey(session: AsyncSession, settings: Settings, *, batch: int = 500) -> int:
    """Re-encrypt every sheet with the current key (after a rotation); how many."""
    done = 0
    last = uuid.UUID(int=0)
    while True:
        rows = (
            await session.execute(
                select(SheetRecord.id, SheetRecord.sealed)
                .where(SheetRecord.id > last)
                .order_by(SheetRecord.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return done
        for row in rows:
            await session.execute(
                update(SheetRecord)
                .where(SheetRecord.id == row.id)
                .values(sealed=reseal(settings, row.sealed))
            )
        done += len(rows)
        last = rows[-1].id
