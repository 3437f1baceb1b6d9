"""Request dependencies: the database session and the authenticated caller (one place)."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, TypedDict

from fastapi import Depends, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.errors import Problem
from services.api.limits import RateLimiter
from shared.access.api_keys import key_matches, split_key
from shared.access.principal import Principal, Role
from shared.core import unit_of_work
from shared.core.settings import Settings
from shared.models import ApiKey
from shared.organizations.reference import ReferenceData

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; handlers commit explicitly, anything left open is rolled back."""
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
    presented = credentials.credentials
    settings: Settings = request.app.state.settings
    if settings.admin_token is not None and hmac.compare_digest(
        presented.encode(), settings.admin_token.get_secret_value().encode()
    ):
        principal = Principal(key_id=None, organization_id=None, role="admin")
    else:
        principal = await _principal_for_key(session, presented)
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None:
        wait = limiter.retry_after(str(principal.key_id or "admin"))
        if wait:
            raise Problem(
                429,
                f"Too many requests for this key; retry in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
    request.state.principal = principal
    return principal


async def _principal_for_key(session: AsyncSession, presented: str) -> Principal:
    lookup = split_key(presented)
    row = None
    if lookup is not None:
        row = (await session.execute(_KEY_BY_PREFIX, {"prefix": lookup})).first()
    if row is None or row.revoked_at is not None or not key_matches(presented, row.key_hash):
        raise Problem(
            401, "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    if row.stale:
        await _note_use(session, row.id)
    return Principal(key_id=row.id, organization_id=row.organization_id, role=row.role)


async def _note_use(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record the key's use in its own short transaction, before the request's work starts."""
    await session.execute(_NOTE_USE, {"key_id": key_id})
    await unit_of_work.commit(session)


# A key's last use is written at most once a minute, not on every request.
LAST_USED_RESOLUTION = text("interval '60 seconds'")
_NOTE_USE = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key_id"),
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION),
    )
    .values(last_used_at=func.now())
)
# Columns, not the ORM entity: every request runs this, and only these are read.
_KEY_BY_PREFIX = select(
    ApiKey.id,
    ApiKey.organization_id,
    ApiKey.role,
    ApiKey.key_hash,
    ApiKey.revoked_at,
    or_(
        ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION
    ).label("stale"),
).where(ApiKey.prefix == bindparam("prefix"))


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
