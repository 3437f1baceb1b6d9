"""GET /v1/episodes: one hospital stay, to its parties only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import ColumnElement

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.errors import Problem, field_error
from services.api.routing import AuthFirstRoute
from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.episodes.schemas import EpisodeOut
from shared.episodes.view import read_episode
from shared.models import Episode
from shared.rules.events import EncounterRef, OrgId

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/episodes",
    tags=["episodes"],
    dependencies=[require_roles("hospital", "care_office", "support_center", "admin")],
)
NOT_FOUND = "No episode with this id is visible to this key."


async def _read(
    request: Request, session: SessionDep, principal: Principal, *where: ColumnElement[bool]
) -> EpisodeOut:
    """The episode matching ``where`` if the caller may read it (access.visibility), else 404."""
    out = await read_episode(session, principal, *where, now=datetime.now(UTC),
                             client_address=client_address(request))  # fmt: skip
    await unit_of_work.commit(session)  # the audit row
    if out is None:
        raise Problem(404, NOT_FOUND)
    return out


@router.get("/{episode_id}", response_model=EpisodeOut)
async def get_episode(
    request: Request, episode_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> EpisodeOut:
    """One episode with its events and flags (404 unless the caller is a party)."""
    return await _read(request, session, principal, Episode.id == episode_id)


@router.get(
    "", response_model=EpisodeOut, responses={404: {"description": "No such episode visible"}}
)
async def find_episode(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    encounter_ref: Annotated[EncounterRef, Query()],  # printable only: NUL was a 500
    hospital_id: Annotated[
        OrgId | None, Query(description="The hospital (a hospital key: its own, by default)")
    ] = None,
) -> EpisodeOut:
    """The episode of a hospital's own stay number (404 unless the caller is a party)."""
    if hospital_id is None and principal.role == "hospital":
        hospital_id = principal.organization_id
    if hospital_id is None:
        msg = "send the hospital whose stay number this is (a hospital key may leave it out)"
        raise Problem(
            422, f"Fix the query parameter `hospital_id`: {msg}.",
            errors=[field_error(["query", "hospital_id"], msg)],
        )  # fmt: skip
    return await _read(
        request,
        session,
        principal,
        Episode.hospital_id == hospital_id,
        Episode.encounter_ref == encounter_ref,
    )
