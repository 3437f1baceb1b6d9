"""Storing a region's rule-set version: the episodes it judges are marked to be refolded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.episodes.repository import EPISODE_LOCK_ORDER
from shared.models import Episode, Organization, RuleSetVersion
from shared.organizations.reference import ReferenceData
from shared.rules.rule_set import RuleSet


async def put_rule_set(
    session: AsyncSession,
    region: str,
    rule_set: RuleSet,
    principal: Principal,
    *,
    reference: ReferenceData,
    client_address: str | None = None,
) -> None:
    """Store (or replace) the version effective from ``rule_set.effective_from``, audited.

    Episodes admitted from that date on (or not yet admitted) are judged by it: they are marked
    dirty, so the worker refolds them; this process's cache reads the region afresh.
    """
    params = rule_set.model_dump(mode="json", exclude={"effective_from"})
    await session.execute(
        insert(RuleSetVersion)
        .values(region=region, effective_from=rule_set.effective_from, params=params)
        .on_conflict_do_update(index_elements=["region", "effective_from"], set_={"params": params})
    )
    since = datetime.combine(rule_set.effective_from, datetime.min.time(), UTC) - timedelta(days=1)
    hospitals = select(Organization.id).where(Organization.region == region)
    judged = (
        select(Episode.id)
        .where(Episode.hospital_id.in_(hospitals))
        .where(or_(Episode.admitted_at.is_(None), Episode.admitted_at >= since))
        .order_by(*EPISODE_LOCK_ORDER)
        .with_for_update()
        .cte("judged")
        .prefix_with("MATERIALIZED")  # locked in full, in lock order, before the update
    )
    await session.execute(
        update(Episode)
        .where(Episode.id == judged.c.id)
        .values(dirty_since=datetime.now(UTC), version=Episode.version + 1)
    )
    audit(session, principal, "put_rule_set", client_address=client_address, region=region,
          effective_from=rule_set.effective_from.isoformat())  # fmt: skip
    unit_of_work.on_commit(session, lambda: reference.forget_rule_sets(region))
