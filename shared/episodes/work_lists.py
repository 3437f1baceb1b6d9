"""Work lists: what a care office or a hospital has to do now, why, and by when; most urgent first.

Each item says why it is listed (``reason``, a code, and ``detail``, in words) and its due date.
The overdue rule: an item is overdue when its due date has passed. A due date that fell on or
before the admission day (a planned discharge no further from the admission than the rule's
notice lead, so coordination that far ahead was not possible once the stay began) is not held
against anyone: the item is listed as
``planned_discharge_within_notice_lead``, due by the planned discharge itself, and is overdue only
once that date has passed. An open flag is a deadline already missed, so its item is overdue.

Items are derived from the folded episodes, so the list is built for the organization and then
paged by keyset over its total order (``PendingKey``): the cursor is the last item's key, and a
page never repeats or skips an item whatever was listed before it.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, TypeAdapter
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.access.visibility import episode_scope
from shared.core.pagination import decode_cursor, keyset_page
from shared.episodes.work_schemas import PendingItem, PendingKind, PendingReason
from shared.models import Episode, Flag
from shared.organizations.service import organization_names
from shared.rules.bounds import date_text
from shared.rules.calendar import local_date, shift_days
from shared.rules.events import EncounterRef, OrgId
from shared.rules.state import UNSUPPORTED_CARE_LEVELS

OPEN_STAY = (Episode.has_admission.is_(True), Episode.discharged_at.is_(None))
DEFAULT_LEAD_DAYS: Final = 7
# Flags that keep a discharged stay on a care office's list, with the reason they give.
FLAG_REASONS: Final[dict[str, PendingReason]] = {
    "missed_discharge_coordination": "missed_discharge_coordination",
    "admission_info_overdue": "admission_info_overdue",
    "discharge_coordination_due": "discharge_coordination_due",
}

# (undated, due date, encounter_ref, hospital_id, episode_id, kind, reason): unique per item.
PendingKey = tuple[
    bool,
    Annotated[date, BeforeValidator(date_text)] | None,
    EncounterRef,
    OrgId,
    uuid.UUID,
    PendingKind,
    PendingReason,
]
PENDING_CURSOR: Final = TypeAdapter(PendingKey)


def sort_key(item: PendingItem) -> tuple[Any, ...]:
    """Most urgent first: by due date (so overdue first), undated last; then a unique tiebreak."""
    return (
        item.due_date is None,
        item.due_date or date.min,
        item.encounter_ref,
        item.hospital_id,
        item.episode_id,
        item.kind,
        item.reason,
    )


def cursor_key(item: PendingItem) -> list[Any]:
    """The JSON form of an item's key, for ``encode_cursor``."""
    return [
        item.due_date is None,
        None if item.due_date is None else item.due_date.isoformat(),
        item.encounter_ref,
        item.hospital_id,
        str(item.episode_id),
        item.kind,
        item.reason,
    ]


def _after_key(key: PendingKey) -> tuple[Any, ...]:
    undated, due, *rest = key
    return (undated, due or date.min, *rest)


def _item(
    episode: Episode,
    kind: PendingKind,
    reason: PendingReason,
    detail: str,
    due: date | None,
    today: date,
    **extra: Any,
) -> PendingItem:
    return PendingItem(
        episode_id=episode.id,
        hospital_id=episode.hospital_id,
        hospital_name=None,
        encounter_ref=episode.encounter_ref,
        kind=kind,
        reason=reason,
        detail=detail,
        due_date=due,
        overdue=extra.pop("overdue", due is not None and due < today),
        patient=episode.state.get("patient"),
        care_office_id=episode.care_office_id,
        **extra,
    )


def _admission_date(episode: Episode) -> date | None:
    return local_date(episode.admitted_at) if episode.admitted_at is not None else None


def _admission_info(episode: Episode, deadline: date, today: date) -> PendingItem:
    admitted = _admission_date(episode)
    late = f"; {(today - deadline).days} day(s) late" if deadline < today else ""
    return _item(
        episode,
        "admission_info",
        "admission_info_due_after_admission",
        f"Admission information (入院時情報提供) is due by {deadline}, "
        f"for the admission on {admitted}{late}",
        deadline,
        today,
    )


def _discharge_planned(episode: Episode, planned: date, today: date) -> PendingItem:
    received = episode.first_coordination_at is not None
    return _item(
        episode,
        "discharge_planned",
        "client_discharge_planned",
        f"Discharge planned for {planned}; the hospital's coordination (退院調整) "
        + ("has been received" if received else "has not been received yet"),
        planned,
        today,
        planned_discharge_date=planned,
        coordination_received=received,
    )


def _coordination(episode: Episode, planned: date, today: date) -> PendingItem:
    """退院調整 owed: `lead` days before the plan, or by the plan when that was never possible."""
    lead = int(
        episode.state.get("rule_set", {}).get("discharge_notice_lead_days", DEFAULT_LEAD_DAYS)
    )
    due = shift_days(planned, -lead)
    admitted = _admission_date(episode)
    extra = {"planned_discharge_date": planned, "coordination_received": False}
    if admitted is not None and due <= admitted:
        days = (planned - admitted).days
        return _item(
            episode,
            "discharge_coordination",
            "planned_discharge_within_notice_lead",
            f"The planned discharge {planned} is {days} day(s) after the admission on {admitted}, "
            f"within the {lead}-day notice lead, so coordination on time (by {due}) was not "
            f"possible after the admission; coordinate by the planned discharge {planned}",
            planned,
            today,
            **extra,
        )
    return _item(
        episode,
        "discharge_coordination",
        "coordination_due_before_planned_discharge",
        f"Coordination (退院調整) is due by {due}, {lead} days before the planned discharge "
        f"{planned}",
        due,
        today,
        **extra,
    )


def _flag_item(episode: Episode, flag: Flag, today: date) -> PendingItem:
    """A discharged stay kept on the office's list while a flag naming the office is open."""
    detail = flag.detail or {}
    discharged = local_date(episode.discharged_at) if episode.discharged_at else None
    due = detail.get("deadline") or detail.get("discharge_date") or local_date(flag.since)
    due_date = due if isinstance(due, date) else date.fromisoformat(str(due))
    if flag.kind == "missed_discharge_coordination":
        text = (
            f"Discharged on {discharged} with no discharge coordination (退院調整漏れ): check that "
            "home care services are in place; listed until the flag clears"
        )
    elif flag.kind == "admission_info_overdue":
        text = (
            f"Admission information was due by {due_date} and has not been received "
            f"(discharged on {discharged}); listed until the flag clears"
        )
    else:
        text = f"Flag {flag.kind} is open since {local_date(flag.since)}; listed until it clears"
    return _item(
        episode,
        "open_flag",
        FLAG_REASONS[flag.kind],
        text,
        due_date,
        today,
        overdue=True,
        flag_id=flag.id,
    )


async def care_office_pending(
    session: AsyncSession, principal: Principal, today: date
) -> list[PendingItem]:
    """入院時情報提供 still owed for clients in hospital, clients' planned discharges, and
    discharged stays while a flag naming the office is open.

    Clients: stays the office is responsible for and a party to (responsible by its own
    posting alone is not enough to see the patient).
    """
    office = principal.organization_id
    rows = await session.scalars(
        select(Episode).where(
            *OPEN_STAY, Episode.care_office_id == office, episode_scope(principal)
        )
    )
    items = []
    for e in rows:
        if e.admission_info_at is None and e.admission_info_deadline is not None:
            items.append(_admission_info(e, e.admission_info_deadline, today))
        if e.planned_discharge_date is not None:
            items.append(_discharge_planned(e, e.planned_discharge_date, today))
    flagged = await session.execute(
        select(Episode, Flag)
        .join(Flag, Flag.episode_id == Episode.id)
        .where(
            Flag.cleared_at.is_(None),
            Flag.kind.in_(FLAG_REASONS),
            or_(Flag.party_org_id == office, Flag.detail["care_office_id"].astext == office),
            Episode.discharged_at.is_not(None),
            episode_scope(principal),
        )
    )
    items += [_flag_item(episode, flag, today) for episode, flag in flagged]
    return items


async def hospital_pending(
    session: AsyncSession, principal: Principal, today: date
) -> list[PendingItem]:
    """退院調整 owed before planned discharges; patients with a care level but no known office."""
    rows = await session.scalars(select(Episode).where(*OPEN_STAY, episode_scope(principal)))
    items = []
    for e in rows:
        if e.first_coordination_at is None and e.planned_discharge_date is not None:
            items.append(_coordination(e, e.planned_discharge_date, today))
        level = e.state.get("care_level")
        if e.care_office_id is None and level not in (None, *UNSUPPORTED_CARE_LEVELS):
            items.append(
                _item(
                    e,
                    "care_office_unknown",
                    "care_level_without_care_office",
                    f"Care level {level} is recorded but no care office is known: post a "
                    "care_assignment, or refer the patient (no_cm_referral)",
                    None,
                    today,
                )
            )
    return items


async def _listed(session: AsyncSession, principal: Principal, today: date) -> list[PendingItem]:
    """The caller's whole list, most urgent first (without names)."""
    if principal.is_care_office:
        items = await care_office_pending(session, principal, today)
    else:
        items = await hospital_pending(session, principal, today)
    return sorted(items, key=sort_key)


async def _named(session: AsyncSession, items: list[PendingItem]) -> list[PendingItem]:
    """The items with their hospital's and care office's names, from one lookup."""
    names = await organization_names(
        session, [i.hospital_id for i in items] + [i.care_office_id for i in items]
    )
    return [
        i.model_copy(
            update={
                "hospital_name": names.get(i.hospital_id),
                "care_office_name": names.get(i.care_office_id) if i.care_office_id else None,
            }
        )
        for i in items
    ]


async def list_pending(
    session: AsyncSession,
    principal: Principal,
    today: date,
    *,
    kind: PendingKind | None = None,
    overdue: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    client_address: str | None = None,
    via: str | None = None,
) -> tuple[list[PendingItem], str | None]:
    """The caller's list, most urgent first, with organization names: a page of ``limit`` and
    the next page's cursor (no limit: the whole list, as the screens show it), audited."""
    after = decode_cursor(cursor, PENDING_CURSOR) if cursor is not None else None
    start = _after_key(after) if after is not None else None
    listed = [
        i
        for i in await _listed(session, principal, today)
        if (kind is None or i.kind == kind)
        and (overdue is None or i.overdue == overdue)
        and (start is None or sort_key(i) > start)
    ]

    async def fetch(n: int) -> list[PendingItem]:
        return await _named(session, listed[:n])

    if limit is None:
        items, next_cursor = await fetch(len(listed)), None
    else:
        items, next_cursor = await keyset_page(fetch, limit, cursor_key)
    audit(session, principal, "list_pending", client_address=client_address,
          episode_ids=sorted({str(i.episode_id) for i in items}), via=via)  # fmt: skip
    return items, next_cursor
