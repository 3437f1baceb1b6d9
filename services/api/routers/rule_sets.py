"""Rule sets (入退院支援ルール) per region, versioned by ``effective_from``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.routing import AuthFirstRoute
from shared.core import unit_of_work
from shared.episodes import rule_set_changes
from shared.organizations.rule_sets import region_rule_sets
from shared.organizations.schemas import RuleSetIn
from shared.rules.rule_set import RuleSet

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1/rule-sets", tags=["administration"])
Region = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$", description="Region code")]


@router.put("/{region}", response_model=RuleSet, dependencies=[require_roles("admin")])
async def put_rule_set(
    request: Request, region: Region, body: RuleSetIn, session: SessionDep, principal: PrincipalDep
) -> RuleSet:
    """Store (or replace) the region's rule-set version effective from ``effective_from``."""
    await unit_of_work.run(
        session,
        lambda: rule_set_changes.put_rule_set(
            session, region, body, principal, reference=request.app.state.reference,
            client_address=client_address(request),
        ),
    )  # fmt: skip
    return body


@router.get("/{region}", response_model=list[RuleSet])
async def list_rule_sets(region: Region, session: SessionDep, _: PrincipalDep) -> list[RuleSet]:
    """The region's versions, oldest first (before the first one, the defaults apply)."""
    return await region_rule_sets(session, region)
