"""Who may read what: the one place that decides which episodes (with their events, flags and
work items) and which metric groups a key sees.

Episodes: an admin sees all; a hospital its own stays; a care office or support centre the
stays it is a party to (``episodes.party_org_ids``, the fold's ``shared.rules.parties``);
a viewer the stays of its region's hospitals (aggregates only: no endpoint shows it a patient).

Metrics and the survey: a viewer sees its own region only, and asking for another region is
refused (RegionNotVisible, a 403) by metrics, series and survey alike, never answered with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.models import Episode, Organization

ScopeKind = Literal["all", "region", "hospital", "care_office"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Metric groups a caller may see: everything, one region, one hospital or one care office's."""

    kind: ScopeKind
    value: str | None = None


class ScopeUnavailable(Exception):
    """The key's organization is gone, so nothing can be shown for it."""


def episode_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on ``episodes``: every read of an episode, flag or work item uses it."""
    if principal.is_admin:
        return true()
    if principal.organization_id is None:
        return false()
    if principal.role == "hospital":
        return Episode.hospital_id == principal.organization_id
    if principal.is_care_office:
        return Episode.party_org_ids.contains([principal.organization_id])
    region = select(Organization.region).where(Organization.id == principal.organization_id)
    hospitals = select(Organization.id).where(Organization.region.in_(region.scalar_subquery()))
    return Episode.hospital_id.in_(hospitals)


async def visible_episode(
    session: AsyncSession, principal: Principal, *where: ColumnElement[bool]
) -> Episode | None:
    """The episode matching ``where`` if ``principal`` may read it, else None (answer 404)."""
    episode: Episode | None = await session.scalar(
        select(Episode).where(*where, episode_scope(principal))
    )
    return episode


class RegionNotVisible(Exception):
    """A viewer asked for the figures of a region other than its own."""


async def metrics_scope(
    session: AsyncSession, principal: Principal, requested: str | None = None
) -> Scope:
    """Metric groups: admin all; viewer its organization's region; a party key its own rows.

    ``requested`` is the region the caller asked for: a viewer asking for another is refused.
    """
    if principal.is_admin:
        return Scope("all")
    if principal.organization_id is None:
        raise ScopeUnavailable
    if principal.role == "viewer":
        own = await session.scalar(
            select(Organization.region).where(Organization.id == principal.organization_id)
        )
        if own is None:
            raise ScopeUnavailable
        if requested is not None and requested != own:
            raise RegionNotVisible
        return Scope("region", own)
    if principal.role == "hospital":
        return Scope("hospital", principal.organization_id)
    return Scope("care_office", principal.organization_id)
