"""Work lists (api.md, "Work lists"): what a care office or a hospital has to do now, by when.

Which items exist, for whom and with which due date is decided by ``shared.rules.work_items``
(the same conditions raise the flags), on each candidate stay's stored state; this module only
finds the candidates, orders, filters and pages them. Candidates: the caller's stays still in
hospital (a care office: those it is responsible for now), plus discharged stays with an open,
unacknowledged ``missed_discharge_coordination`` flag naming the caller (``open_flag``).

Most urgent first: ``due_date`` ascending, items without one last, ties by ``episode_id`` (then
kind: one stay may owe an office two things). Paged by keyset over that order
(``PendingKey``): the cursor is the last item's key, so a page never repeats or skips an item.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, TypeAdapter
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.access_log import record_reads
from shared.access.principal import Principal
from shared.access.visibility import episode_scope
from shared.core.pagination import decode_cursor, keyset_page
from shared.episodes.work_schemas import ListedStay, PendingItem, PendingKind, pending_items
from shared.models import Episode, Flag
from shared.organizations.service import organization_names
from shared.rules.bounds import date_text
from shared.rules.work_items import facts_from_json, work_items

OPEN_STAY = (Episode.has_admission.is_(True), Episode.discharged_at.is_(None))

# (undated, due date, episode_id, kind): unique per item, in the list's order.
PendingKey = tuple[bool, Annotated[date, BeforeValidator(date_text)] | None, uuid.UUID, PendingKind]
PENDING_CURSOR: Final = TypeAdapter(PendingKey)


def sort_key(item: PendingItem) -> tuple[Any, ...]:
    """Most urgent first: by due date (so overdue first), undated last; ties by episode."""
    return (item.due_date is None, item.due_date or date.min, item.episode_id, item.kind)


def cursor_key(item: PendingItem) -> list[Any]:
    """The JSON form of an item's key, for ``encode_cursor``."""
    due = None if item.due_date is None else item.due_date.isoformat()
    return [item.due_date is None, due, str(item.episode_id), item.kind]


def _after_key(key: PendingKey) -> tuple[Any, ...]:
    undated, due, episode_id, kind = key
    return (undated, due or date.min, episode_id, kind)


# What a list reads of a stay: plain rows, not ORM entities (hundreds per request).
STAY_COLUMNS = (Episode.id, Episode.hospital_id, Episode.encounter_ref, Episode.state)


async def _candidates(
    session: AsyncSession, principal: Principal
) -> tuple[list[ListedStay], dict[uuid.UUID, uuid.UUID]]:
    """The stays that may put items on the caller's list, and the open missed flag of those
    that have one ({episode: flag})."""
    org = principal.organization_id
    open_stays = select(*STAY_COLUMNS).where(*OPEN_STAY, episode_scope(principal))
    if principal.is_care_office:
        open_stays = open_stays.where(Episode.care_office_id == org)
    flagged = (
        select(*STAY_COLUMNS, Flag.id.label("flag_id"))
        .join(Flag, Flag.episode_id == Episode.id)
        .where(
            Flag.kind == "missed_discharge_coordination",
            Flag.cleared_at.is_(None),
            Flag.acknowledged_at.is_(None),
            or_(Flag.hospital_id == org, Flag.detail["care_office_id"].astext == org),
            episode_scope(principal),
        )
    )
    flagged_rows = (await session.execute(flagged)).all()
    rows: dict[uuid.UUID, ListedStay] = {r.id: r for r in await session.execute(open_stays)}
    rows.update((r.id, r) for r in flagged_rows)
    return list(rows.values()), {r.id: r.flag_id for r in flagged_rows}


async def _listed(session: AsyncSession, principal: Principal, today: date) -> list[PendingItem]:
    """The caller's whole list, most urgent first (without names)."""
    episodes, flagged = await _candidates(session, principal)
    items: list[PendingItem] = []
    for episode in episodes:
        facts = facts_from_json(episode.state)
        listed = work_items(facts, today, missed_flag_open=episode.id in flagged)
        mine = [i for i in listed if i.org_id == principal.organization_id]
        if mine:
            items += pending_items(episode, facts, mine, flagged.get(episode.id))
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
    path: str,
    client_address: str | None = None,
) -> tuple[list[PendingItem], str | None]:
    """The caller's list, most urgent first, with organization names: a page of ``limit`` and
    the next page's cursor (no limit: the whole list, as the screens show it); each episode
    listed is written to the access log (``path``: the answer's), which the caller commits."""
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
    await record_reads(session, principal, [i.episode_id for i in items], path=path,
                       address=client_address)  # fmt: skip
    return items, next_cursor
