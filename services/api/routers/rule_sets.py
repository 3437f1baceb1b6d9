"""Rule sets (入退院支援ルール) per region, versioned by ``effective_from``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.routing import AuthFirstRoute
from shared.episodes.repository import EPISODE_LOCK_ORDER
from shared.models import Episode, Organization, RuleSetVersion
from shared.organizations.schemas import RuleSetIn
from shared.rules.rule_set import RuleSet

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1/rule-sets", tags=["administration"])
Region = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$", description="Region code")]


@router.put("/{region}", response_model=RuleSet, dependencies=[require_roles("admin")])
async def put_rule_set(
    request: Request, region: Region, body: RuleSetIn, session: SessionDep, principal: PrincipalDep
) -> RuleSet:
    """Store (or replace) the region's rule-set version effective from ``effective_from``."""
    params = body.model_dump(mode="json", exclude={"effective_from"})
    await session.execute(
        insert(RuleSetVersion)
        .values(region=region, effective_from=body.effective_from, params=params)
        .on_conflict_do_update(index_elements=["region", "effective_from"], set_={"params": params})
    )
    # Episodes admitted from that date on are judged by the new version: refold them.
    since = datetime.combine(body.effective_from, datetime.min.time(), UTC) - timedelta(days=1)
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
    record_access(
        request,
        session,
        principal,
        "put_rule_set",
        region=region,
        effective_from=body.effective_from.isoformat(),
    )
    await session.commit()
    request.app.state.reference.forget_rule_sets(region)
    return body


@router.get("/{region}", response_model=list[RuleSet])
async def list_rule_sets(region: Region, session: SessionDep, _: PrincipalDep) -> list[RuleSet]:
    """The region's versions, oldest first (before the first one, the defaults apply)."""
    rows = await session.scalars(
        select(RuleSetVersion)
        .where(RuleSetVersion.region == region)
        .order_by(RuleSetVersion.effective_from)
    )
    return [RuleSet(effective_from=r.effective_from, **r.params) for r in rows]
