"""Persisting flag transitions: raise new ones, clear resolved ones, keep acknowledgements."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Flag
from shared.notify.outbox import record_flag_notifications
from shared.rules.flags import FlagSpec

CLEARED_BECAUSE = {
    "missed_discharge_coordination": "coordination before the discharge, or discharge cancelled",
    "admission_info_overdue": "admission information arrived (late)",
    "discharge_coordination_due": "coordination arrived or the planned discharge moved",
}


async def sync_flags(
    session: AsyncSession,
    wanted: Mapping[uuid.UUID, tuple[str, Sequence[FlagSpec]]],
    now: datetime,
) -> None:
    """Make each episode's open flags match the engine's truth ({episode: (hospital, specs)})."""
    open_flags: dict[tuple[uuid.UUID, str], Flag] = {
        (f.episode_id, f.kind): f
        for f in await session.scalars(
            select(Flag).where(Flag.episode_id.in_(list(wanted)), Flag.cleared_at.is_(None))
        )
    }
    specs = {(e, s.kind): (h, s) for e, (h, flags) in wanted.items() for s in flags}
    raised: list[Flag] = []
    cleared: list[Flag] = []  # webhooks (issue 14)
    for key, flag in open_flags.items():
        if key not in specs:
            cleared.append(flag)
            flag.cleared_at = now
            flag.cleared_reason = CLEARED_BECAUSE.get(flag.kind, "condition no longer holds")
        else:
            spec = specs[key][1]
            flag.party_org_id = spec.party_org_id
            flag.detail = dict(spec.detail)
    for (episode_id, kind), (hospital_id, spec) in specs.items():
        if (episode_id, kind) not in open_flags:
            raised.append(
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
    session.add_all(raised)
    await record_flag_notifications(session, raised, cleared, now)  # webhooks (issue 14)
