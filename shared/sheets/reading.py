"""Reading an episode's sheets: its parties only, every read in the access log before the answer.

A caller that is not a party gets None (the routes answer 404, as for the episode itself);
viewers are refused by the routes' role check before this runs. The access-log row is added to
the caller's session; the caller commits it (``unit_of_work.commit``) before answering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.access_log import record_reads
from shared.access.principal import Principal
from shared.access.visibility import visible_episode
from shared.core.settings import Settings
from shared.models import Episode, Organization
from shared.sheets.store import StoredSheet, episode_sheets


@dataclass(frozen=True, slots=True)
class EpisodeSheets:
    """The sheets of one stay with the facts a printed sheet names."""

    episode_id: uuid.UUID
    hospital_id: str
    encounter_ref: str
    sheets: list[StoredSheet]
    names: dict[str, str]  # organization id → name, for the stay's hospital and the posters


async def read_sheets(
    session: AsyncSession,
    principal: Principal,
    episode_id: uuid.UUID,
    *,
    settings: Settings,
    sheet_id: uuid.UUID | None = None,
    path: str,
    client_address: str | None = None,
) -> EpisodeSheets | None:
    """The episode's sheets (or the one ``sheet_id``) if the caller is a party, else None."""
    episode = await visible_episode(session, principal, Episode.id == episode_id)
    if episode is None:
        return None
    sheets = await episode_sheets(session, settings, episode.id, sheet_id)
    await record_reads(session, principal, [episode.id], path=path, address=client_address)
    ids = {episode.hospital_id, *(s.posted_by for s in sheets)}
    rows = await session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    names = {row.id: row.name for row in rows}
    return EpisodeSheets(episode.id, episode.hospital_id, episode.encounter_ref, sheets, names)
