"""Administration: organizations (readable by every key) and API keys (admin key only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.errors import Problem
from services.api.params import Cursor, Limit
from services.api.routing import AuthFirstRoute
from shared.access.authentication import KeyCache, KeyUses
from shared.access.principal import ROLES
from shared.core import unit_of_work
from shared.organizations import service
from shared.organizations.schemas import (
    ApiKeyIn,
    ApiKeyListed,
    ApiKeyOut,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    OrgKind,
    Page,
    RegionCode,
)
from shared.organizations.service import (
    KeyNotAllowed,
    NotAHospital,
    OrganizationConflict,
    OrganizationNotFound,
)
from shared.rules.events import OrgId

ADMIN = [require_roles("admin")]
# Organizations are public facts (ids, kinds, names, areas, regions): every key may read them.
EVERY_KEY = [require_roles(*ROLES)]
router = APIRouter(route_class=AuthFirstRoute, prefix="/v1", tags=["administration"])


@router.post(
    "/organizations",
    status_code=201,
    response_model=OrganizationOut,
    dependencies=ADMIN,
    responses={
        200: {"model": OrganizationOut, "description": "Identical repeat"},
        409: {
            "description": "The id exists with different fields, or another organization"
            " has this hl7_sending_facility"
        },
    },
)
async def create_organization(
    request: Request, body: OrganizationIn, session: SessionDep, principal: PrincipalDep
) -> JSONResponse:
    """Register a hospital, care office, support centre, municipality or region."""
    try:
        org, created = await service.create_organization(
            session, body, principal, client_address=client_address(request)
        )
    except OrganizationConflict as exc:
        raise Problem(409, str(exc)) from exc
    await unit_of_work.commit(session)
    out = OrganizationOut.model_validate(org)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.patch(
    "/organizations/{org_id}",
    response_model=OrganizationOut,
    dependencies=ADMIN,
    responses={
        404: {"description": "No organization with this id"},
        409: {"description": "Another organization has this hl7_sending_facility"},
        422: {
            "description": "A field that cannot be changed (id, kind, region), an invalid value,"
            " or a sending facility for an organization that is not a hospital"
        },
    },
)
async def update_organization(
    request: Request,
    org_id: OrgId,
    body: OrganizationPatch,
    session: SessionDep,
    principal: PrincipalDep,
) -> OrganizationOut:
    """Change an organization's name, municipality_code, medical_area or hl7_sending_facility
    (e.g. give an existing hospital the MSH-4 its HL7 v2 feed sends); the fields left out stay."""
    try:
        org = await service.update_organization(
            session, org_id, body, principal, reference=request.app.state.reference,
            client_address=client_address(request),
        )  # fmt: skip
    except OrganizationNotFound as exc:
        raise Problem(404, str(exc)) from exc
    except NotAHospital as exc:
        raise Problem(422, str(exc)) from exc
    except OrganizationConflict as exc:
        raise Problem(409, str(exc)) from exc
    await unit_of_work.commit(session)
    return OrganizationOut.model_validate(org)


@router.get("/organizations", response_model=Page[OrganizationOut], dependencies=EVERY_KEY)
async def list_organizations_page(
    session: SessionDep,
    kind: Annotated[OrgKind | None, Query(description="Only organizations of this kind")] = None,
    region: Annotated[RegionCode | None, Query(description="Only this region's")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[OrganizationOut]:
    """Organizations ordered by id, to turn the ids in events, work lists and metrics into names.

    Readable by every key: organizations are public facts (ids, kinds, names, 二次医療圏,
    regions), never personal data. `kind` and `region` narrow the list; both together intersect.
    """
    rows, next_cursor = await service.organizations_page(
        session, kind=kind, region=region, limit=limit, cursor=cursor
    )
    return Page[OrganizationOut](
        items=[OrganizationOut.model_validate(o) for o in rows], next_cursor=next_cursor
    )


@router.post("/api-keys", status_code=201, response_model=ApiKeyOut, dependencies=ADMIN)
async def create_api_key(
    request: Request, body: ApiKeyIn, session: SessionDep, principal: PrincipalDep
) -> ApiKeyOut:
    """Issue a key for an organization; the key is shown only in this response."""
    try:
        issued = await service.create_api_key(
            session, body.organization_id, body.role, principal,
            client_address=client_address(request),
        )  # fmt: skip
    except KeyNotAllowed as exc:
        raise Problem(422, str(exc)) from exc
    await unit_of_work.commit(session)
    return ApiKeyOut(
        id=issued.id,
        key=issued.key,
        organization_id=issued.organization_id,
        role=issued.role,
        created_at=issued.record.created_at,
    )


@router.delete("/api-keys/{key_id}", status_code=204, dependencies=ADMIN)
async def delete_api_key(
    request: Request, key_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Revoke a key; it gets 401 from then on."""
    if not await service.revoke_api_key(
        session, key_id, principal, client_address=client_address(request)
    ):
        raise Problem(404, "No API key with this id.")
    await unit_of_work.commit(session)  # its NOTIFY makes every API process forget cached keys
    keys: KeyCache = request.app.state.keys
    keys.clear()  # and this one at once, before it answers
    return Response(status_code=204)


@router.get("/api-keys", response_model=Page[ApiKeyListed], dependencies=ADMIN)
async def list_keys(
    request: Request,
    session: SessionDep,
    organization_id: Annotated[
        str | None, Query(description="Only the keys of this organization")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ApiKeyListed]:
    """API keys oldest first, with their last use; never the key itself (it is shown only once)."""
    key_uses: KeyUses = request.app.state.key_uses
    await key_uses.flush_quietly(request.app.state.sessionmaker)  # this process's latest uses
    rows, next_cursor = await service.api_keys_page(
        session, organization_id, limit=limit, cursor=cursor
    )
    return Page[ApiKeyListed](
        items=[ApiKeyListed.model_validate(k) for k in rows], next_cursor=next_cursor
    )
