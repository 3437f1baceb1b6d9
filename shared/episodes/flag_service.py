"""Which flags a caller sees, listing and acknowledging them: the JSON router and the screens.

The use cases (``list_flags``, ``acknowledge_flag``) audit what they show or change and commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

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
    client_address: str | None = None,
    via: str | None = None,
) -> tuple[list[FlagRow], str | None]:
    """The caller's flags newest first, a page and the next page's cursor; a party's read of
    patients is audited (``via``: the screen that shows them; absent: the API)."""
    query = visible_flags(principal).order_by(Flag.raised_at.desc(), Flag.id.desc())
    if status == "open":
        query = query.where(Flag.cleared_at.is_(None))
    elif status == "cleared":
        query = query.where(Flag.cleared_at.is_not(None))
    if kind is not None:
        query = query.where(Flag.kind == kind)
    if cursor is not None:
        after = decode_cursor(cursor, TIMESTAMP_ID_CURSOR)
        query = query.where(tuple_(Flag.raised_at, Flag.id) < tuple_(*after))

    async def fetch(n: int) -> Sequence[FlagRow]:
        return [(flag, episode) for flag, episode in await session.execute(query.limit(n))]

    rows, next_cursor = await keyset_page(
        fetch, limit, lambda row: timestamp_id_key(row[0].raised_at, row[0].id)
    )
    if shows_patient(principal):
        audit(session, principal, "list_flags", client_address=client_address,
              episode_ids=sorted({str(e.id) for _, e in rows}), via=via)  # fmt: skip
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
) -> FlagRow | None:
    """Record that a party has seen the flag, with a note, audited (None: not visible).

    ``via`` names the screen it came from, in the audit row (absent: the API).
    """
    row = await acknowledge(session, principal, flag_id, note, now)
    if row is None:
        return None
    audit(session, principal, "acknowledge_flag", episode_id=row[1].id,
          client_address=client_address, flag_id=str(flag_id), via=via)  # fmt: skip
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
