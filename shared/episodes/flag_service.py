"""Which flags a caller sees, listing and acknowledging them: the JSON router and the screens.

The use cases (``list_flags``, ``acknowledge_flag``) log the patients they show (the access log)
and audit what they change; the caller commits (``shared.core.unit_of_work``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.access_log import record_reads
from shared.access.audit import audit
from shared.access.principal import Principal
from shared.access.visibility import episode_scope
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import Episode, Flag
from shared.rules.bounds import TIMESTAMP_ID_CURSOR, timestamp_id_key
from shared.rules.flags import FlagKind

FlagRow = tuple[Flag, Episode]


def shows_patient(principal: Principal) -> bool:
    """The parties see patient fields and notes; admin and viewer see flags without them."""
    return principal.role in ("hospital", "care_office", "support_center")


def visible_flags(principal: Principal) -> Select[Flag, Episode]:
    """Flags with their episodes, limited to the episodes the caller may see."""
    return (
        select(Flag, Episode)
        .join(Episode, Episode.id == Flag.episode_id)
        .where(episode_scope(principal))
    )


async def list_flags(
    session: AsyncSession,
    principal: Principal,
    *,
    status: Literal["open", "cleared", "all"],
    kind: FlagKind | None,
    limit: int,
    cursor: str | None,
    oldest_first: bool = False,
    path: str,
    client_address: str | None = None,
) -> tuple[list[FlagRow], str | None]:
    """The caller's flags newest first (or oldest first), a page and the next page's cursor; a
    party sees the patient fields, so each episode of the page is written to the access log
    (``path``: the answer's), which the caller commits."""
    query = visible_flags(principal)
    if oldest_first:
        query = query.order_by(Flag.raised_at, Flag.id)
    else:
        query = query.order_by(Flag.raised_at.desc(), Flag.id.desc())
    if status == "open":
        query = query.where(Flag.cleared_at.is_(None))
    elif status == "cleared":
        query = query.where(Flag.cleared_at.is_not(None))
    if kind is not None:
        query = query.where(Flag.kind == kind)
    if cursor is not None:
        after = tuple_(*decode_cursor(cursor, TIMESTAMP_ID_CURSOR))
        key = tuple_(Flag.raised_at, Flag.id)
        query = query.where(key > after if oldest_first else key < after)

    async def fetch(n: int) -> Sequence[FlagRow]:
        return [(flag, episode) for flag, episode in await session.execute(query.limit(n))]

    rows, next_cursor = await keyset_page(
        fetch, limit, lambda row: timestamp_id_key(row[0].raised_at, row[0].id)
    )
    if shows_patient(principal):
        await record_reads(session, principal, [e.id for _, e in rows], path=path,
                           address=client_address)  # fmt: skip
    return rows, next_cursor


async def acknowledge_flag(
    session: AsyncSession,
    principal: Principal,
    flag_id: uuid.UUID,
    note: str,
    *,
    now: datetime,
    client_address: str | None = None,
    via: str | None = None,
    shown_at: str | None = None,
) -> FlagRow | None:
    """Record that a party has seen the flag, with a note, audited (None: not visible).

    ``via`` names the screen it came from, in the audit row (absent: the API). ``shown_at`` is
    the path of an answer that shows the flag's patient fields (the access log), None when the
    answer shows none.
    """
    row = await acknowledge(session, principal, flag_id, note, now)
    if row is None:
        return None
    audit(session, principal, "acknowledge_flag", episode_id=row[1].id,
          client_address=client_address, flag_id=str(flag_id), via=via)  # fmt: skip
    if shown_at is not None and shows_patient(principal):
        await record_reads(session, principal, [row[1].id], path=shown_at,
                           address=client_address)  # fmt: skip
    return row


async def acknowledge(
    session: AsyncSession, principal: Principal, flag_id: uuid.UUID, note: str, now: datetime
) -> tuple[Flag, Episode] | None:
    """Record that a party has seen the flag, with a note (None: not visible); caller commits."""
    row = (await session.execute(visible_flags(principal).where(Flag.id == flag_id))).first()
    if row is None:
        return None
    flag, episode = row
    flag.acknowledged_at = now
    flag.acknowledged_by = principal.label
    flag.acknowledgement_note = note
    return flag, episode
