"""Which rule sets (入退院支援ルール) apply: a region's stored versions, a hospital's region."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Organization, RuleSetVersion
from shared.rules.rule_set import RuleSet


async def region_rule_sets(session: AsyncSession, region: str | None) -> list[RuleSet]:
    """The region's rule-set versions, oldest first (empty: the defaults apply)."""
    if region is None:
        return []
    rows = await session.scalars(
        select(RuleSetVersion)
        .where(RuleSetVersion.region == region)
        .order_by(RuleSetVersion.effective_from)
    )
    return [RuleSet(effective_from=r.effective_from, **r.params) for r in rows]


async def hospital_region(session: AsyncSession, hospital_id: str) -> str | None:
    """The region (rule set) the hospital follows."""
    org = await session.get(Organization, hospital_id)
    return None if org is None else org.region
