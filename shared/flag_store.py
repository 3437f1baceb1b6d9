"""Persisting flag transitions: raise new ones, clear resolved ones, keep acknowledgements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Flag
from shared.rules.flags import FlagSpec

CLEARED_BECAUSE = {
    "missed_discharge_coordination": "coordination before the discharge, or discharge cancelled",
    "admission_info_overdue": "admission information arrived (late)",
    "discharge_coordination_due": "coordination arrived or the planned discharge moved",
}


async def sync_flags(
    session: AsyncSession,
    episode_id: uuid.UUID,
    hospital_id: str,
    specs: Sequence[FlagSpec],
    now: datetime,
) -> None:
    """Make the episode's open flags match the engine's current truth."""
    open_flags = {
        f.kind: f
        for f in await session.scalars(
            select(Flag).where(Flag.episode_id == episode_id, Flag.cleared_at.is_(None))
        )
    }
    wanted: dict[str, FlagSpec] = {s.kind: s for s in specs}
    for kind, flag in open_flags.items():
        spec = wanted.get(kind)
        if spec is None:
            flag.cleared_at = now
            flag.cleared_reason = CLEARED_BECAUSE.get(kind, "condition no longer holds")
        else:
            flag.party_org_id = spec.party_org_id
            flag.detail = dict(spec.detail)
    for kind, spec in wanted.items():
        if kind not in open_flags:
            session.add(
                Flag(
                    id=uuid.uuid4(),
                    episode_id=episode_id,
                    kind=kind,
                    hospital_id=hospital_id,
                    party_org_id=spec.party_org_id,
                    since=spec.since,
                    raised_at=now,
                    detail=dict(spec.detail),
                )
            )
    await session.flush()
