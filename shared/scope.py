"""Which episodes a caller may see: the one definition every list and count uses."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true

from shared.models import Episode, Organization
from shared.principal import Principal


def episode_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on ``episodes``: parties see their stays, viewers their region."""
    if principal.is_admin:
        return true()
    if principal.role == "hospital":
        return Episode.hospital_id == principal.organization_id
    if principal.is_care_office:
        return Episode.party_org_ids.contains([principal.organization_id])
    region = select(Organization.region).where(Organization.id == principal.organization_id)
    hospitals = select(Organization.id).where(Organization.region.in_(region.scalar_subquery()))
    return Episode.hospital_id.in_(hospitals)
