"""People (api.md, Screens → People): staff accounts, managed with the admin key.

An organization's org_admin does the same on the screens (/ui/people) for its own people.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.errors import Problem
from services.api.params import Cursor, Limit
from services.api.routing import AuthFirstRoute
from shared.core import unit_of_work
from shared.core.settings import Settings
from shared.organizations.schemas import Page
from shared.people import service
from shared.people.schemas import UserEnrolment, UserIn, UserOut, UserPatch
from shared.people.service import PersonConflict, UnknownOrganization
from shared.rules.events import OrgId

ADMIN = [require_roles("admin")]
router = APIRouter(route_class=AuthFirstRoute, prefix="/v1", tags=["people"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No person with this id"}}


def _screens_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.screens_url


def _enrolment(user: object, url: str) -> UserEnrolment:
    out = UserOut.model_validate(user)
    return UserEnrolment(**out.model_dump(), enrolment_url=url)


@router.post(
    "/users",
    status_code=201,
    response_model=UserEnrolment,
    dependencies=ADMIN,
    responses={409: {"description": "The login id is taken"}},
)
async def create_user(
    request: Request, body: UserIn, session: SessionDep, principal: PrincipalDep
) -> UserEnrolment:
    """Add a person; they set a password and a second factor by the one-time `enrolment_url`
    (72 hours, shown only here: hand it over in person)."""
    try:
        enrolled = await service.create_person(
            session, body, principal, screens_url=_screens_url(request),
            client_address=client_address(request),
        )  # fmt: skip
    except UnknownOrganization as exc:
        raise Problem(422, str(exc)) from exc
    except PersonConflict as exc:
        raise Problem(409, str(exc)) from exc
    await unit_of_work.commit(session)
    return _enrolment(enrolled.user, enrolled.enrolment_url)


@router.get("/users", response_model=Page[UserOut], dependencies=ADMIN)
async def list_users(
    session: SessionDep,
    organization_id: Annotated[
        OrgId | None, Query(description="Only the people of this organization")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[UserOut]:
    """People ordered by login id; never their passwords or factors."""
    rows, next_cursor = await service.users_page(
        session, organization_id, limit=limit, cursor=cursor or None
    )
    return Page[UserOut](items=[UserOut.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.patch("/users/{user_id}", response_model=UserOut, dependencies=ADMIN, responses=NOT_FOUND)
async def update_user(
    request: Request,
    user_id: uuid.UUID,
    body: UserPatch,
    session: SessionDep,
    principal: PrincipalDep,
) -> UserOut:
    """Change `display_name`, `role` or `disabled`; disabling ends the person's sessions at once."""
    user = await service.find_user(session, user_id)
    if user is None:
        raise Problem(404, "No person with this id.")
    await service.change_person(
        session, user, body, principal, client_address=client_address(request)
    )
    await unit_of_work.commit(session)
    return UserOut.model_validate(user)


@router.post(
    "/users/{user_id}/reset", response_model=UserEnrolment, dependencies=ADMIN, responses=NOT_FOUND
)
async def reset_user(
    request: Request, user_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> UserEnrolment:
    """End the person's sessions, remove their password and factors; a new `enrolment_url`."""
    user = await service.find_user(session, user_id)
    if user is None:
        raise Problem(404, "No person with this id.")
    url = await service.reset_person(
        session, user, principal, screens_url=_screens_url(request),
        client_address=client_address(request),
    )  # fmt: skip
    await unit_of_work.commit(session)
    return _enrolment(user, url)
