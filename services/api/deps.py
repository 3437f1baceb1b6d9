"""Request dependencies: the database session and the authenticated caller (one place)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, TypedDict

from fastapi import Depends, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.errors import Problem
from services.api.limits import rate_limit_wait
from shared.access.authentication import authenticate
from shared.access.principal import Principal, Role
from shared.core.settings import Settings
from shared.organizations.reference import ReferenceData

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; handlers commit through the unit of work, the rest rolls back."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with factory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Authenticate the bearer key: 401 when missing, unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(
            401,
            "Send an API key as `Authorization: Bearer <key>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    settings: Settings = request.app.state.settings
    admin = settings.admin_token.get_secret_value() if settings.admin_token is not None else None
    principal = await authenticate(
        session, credentials.credentials, admin_token=admin, keys=request.app.state.keys
    )
    if principal is None:
        raise Problem(
            401, "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    if principal.key_id is not None:
        request.app.state.key_uses.note(principal.key_id)
    wait = rate_limit_wait(request.app.state.rate_limiter, principal)  # the screens' too
    if wait:
        raise Problem(
            429,
            f"Too many requests for this key; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class RoleCheck:
    """Lets only ``roles`` through (403 otherwise); the OpenAPI document reads ``roles``."""

    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = roles

    async def __call__(self, principal: PrincipalDep) -> Principal:
        if principal.role not in self.roles:
            raise Problem(403, f"This key's role ({principal.role}) may not do this.")
        return principal


def require_roles(*roles: Role) -> params.Depends:
    """A dependency that lets only the given roles through (403 otherwise)."""
    dependency: params.Depends = Depends(RoleCheck(roles))
    return dependency


def client_address(request: Request) -> str | None:
    """The client's IP address, as the audit trail records it."""
    return request.client.host if request.client else None


class Intake(TypedDict):
    """What a use case that records events takes from the request and the app (keywords)."""

    now: datetime
    reference: ReferenceData
    client_address: str | None


def intake(request: Request) -> Intake:
    """The clock, the reference cache and the client, for ``**intake``."""
    return Intake(
        now=datetime.now(UTC),
        reference=request.app.state.reference,
        client_address=client_address(request),
    )
