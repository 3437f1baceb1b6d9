"""Work lists: what a care office or a hospital has to do now, most urgent first."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Episode
from shared.principal import Principal
from shared.rules.calendar import shift_days
from shared.rules.state import UNSUPPORTED_CARE_LEVELS
from shared.schemas.work import PendingItem, PendingKind
from shared.visibility import episode_scope

OPEN_STAY = (Episode.has_admission.is_(True), Episode.discharged_at.is_(None))


def _item(
    episode: Episode, kind: PendingKind, due: date | None, today: date, **extra: Any
) -> PendingItem:
    return PendingItem(
        episode_id=episode.id,
        hospital_id=episode.hospital_id,
        encounter_ref=episode.encounter_ref,
        kind=kind,
        due_date=due,
        overdue=due is not None and due < today,
        patient=episode.state.get("patient"),
        care_office_id=episode.care_office_id,
        **extra,
    )


async def care_office_pending(
    session: AsyncSession, principal: Principal, today: date
) -> list[PendingItem]:
    """入院時情報提供 still owed for clients in hospital, and clients' planned discharges.

    Clients: stays the office is responsible for and a party to (responsible by its own
    posting alone is not enough to see the patient).
    """
    rows = await session.scalars(
        select(Episode).where(
            *OPEN_STAY,
            Episode.care_office_id == principal.organization_id,
            episode_scope(principal),
        )
    )
    items = []
    for e in rows:
        if e.admission_info_at is None and e.admission_info_deadline is not None:
            items.append(_item(e, "admission_info", e.admission_info_deadline, today))
        if e.planned_discharge_date is not None:
            items.append(
                _item(
                    e,
                    "discharge_planned",
                    e.planned_discharge_date,
                    today,
                    planned_discharge_date=e.planned_discharge_date,
                    coordination_received=e.first_coordination_at is not None,
                )
            )
    return items


async def hospital_pending(
    session: AsyncSession, principal: Principal, today: date
) -> list[PendingItem]:
    """退院調整 owed before planned discharges; patients with a care level but no known office."""
    rows = await session.scalars(select(Episode).where(*OPEN_STAY, episode_scope(principal)))
    items = []
    for e in rows:
        if e.first_coordination_at is None and e.planned_discharge_date is not None:
            lead = int(e.state.get("rule_set", {}).get("discharge_notice_lead_days", 7))
            items.append(
                _item(
                    e,
                    "discharge_coordination",
                    shift_days(e.planned_discharge_date, -lead),
                    today,
                    planned_discharge_date=e.planned_discharge_date,
                    coordination_received=False,
                )
            )
        if e.care_office_id is None and e.state.get("care_level") not in (
            None,
            *UNSUPPORTED_CARE_LEVELS,
        ):
            items.append(_item(e, "care_office_unknown", None, today))
    return items


async def pending_for(
    session: AsyncSession, principal: Principal, today: date
) -> list[PendingItem]:
    """The caller's list, most urgent first (overdue, then by due date; undated last)."""
    if principal.is_care_office:
        items = await care_office_pending(session, principal, today)
    else:
        items = await hospital_pending(session, principal, today)
    return sorted(items, key=lambda i: (i.due_date is None, i.due_date or today, i.encounter_ref))
