"""Which flags a caller sees, and acknowledging one: the JSON router and the screens share it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.access.visibility import episode_scope
from shared.models import Episode, Flag


def visible_flags(principal: Principal) -> Select[Flag, Episode]:
    """Flags with their episodes, limited to the episodes the caller may see."""
    return (
        select(Flag, Episode)
        .join(Episode, Episode.id == Flag.episode_id)
        .where(episode_scope(principal))
    )


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
