"""People of an organization: add, list, change, disable and reset them; enrolment links.

The JSON API (admin key) and the screens (an organization's org_admin) run these same steps,
audited by the caller; the CLI runs them in its own transaction, unaudited, like keys.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import TypeAdapter
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal, Role
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import (
    BrowserSession,
    Enrolment,
    Organization,
    Passkey,
    RecoveryCode,
    User,
)
from shared.people.factors import code_digest, new_recovery_codes, token_digest
from shared.people.schemas import LoginId, UserIn, UserPatch

ENROLMENT_TTL: Final = timedelta(hours=72)
USER_CURSOR: Final = TypeAdapter(LoginId)  # the login id of the last person (unique)
# What a person may read: their organization kind's key role (regions and municipalities: the
# aggregates only, as viewer keys).
ROLE_BY_KIND: Final[dict[str, Role]] = {
    "hospital": "hospital",
    "care_office": "care_office",
    "support_center": "support_center",
    "municipality": "viewer",
    "region": "viewer",
}


class PersonConflict(Exception):
    """The login id is taken (login ids are unique across the service)."""


class UnknownOrganization(ValueError):
    """The organization is not registered."""


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A person and a fresh enrolment link (shown once)."""

    user: User
    enrolment_url: str


async def add_user(session: AsyncSession, body: UserIn, *, screens_url: str) -> Enrolled:
    """A new person, not yet able to sign in, and their one-time enrolment link."""
    if await session.get(Organization, body.organization_id) is None:
        raise UnknownOrganization(f"organization {body.organization_id} is not registered")
    login_id = body.login_id.lower()
    if await session.scalar(select(User.id).where(User.login_id == login_id)) is not None:
        raise PersonConflict(f"the login id {login_id} is taken")
    user = User(id=uuid.uuid4(), organization_id=body.organization_id, login_id=login_id,
                display_name=body.display_name, role=body.role, disabled=False,
                created_at=datetime.now(UTC))  # fmt: skip
    session.add(user)
    await session.flush()
    return Enrolled(user, await new_enrolment(session, user.id, screens_url))


async def new_enrolment(session: AsyncSession, user_id: uuid.UUID, screens_url: str) -> str:
    """A fresh 72-hour link; any earlier unused link of the person stops working."""
    await session.execute(
        delete(Enrolment).where(Enrolment.user_id == user_id, Enrolment.used_at.is_(None))
    )
    token = secrets.token_urlsafe(32)
    session.add(Enrolment(user_id=user_id, token_hash=token_digest(token),
                          expires_at=datetime.now(UTC) + ENROLMENT_TTL))  # fmt: skip
    await session.flush()
    return f"{screens_url}/ui/enrol/{token}"


async def find_user(
    session: AsyncSession, user_id: uuid.UUID, organization_id: str | None = None
) -> User | None:
    """The person, or None when unknown or (given ``organization_id``) of another organization."""
    user = await session.get(User, user_id)
    if user is None or (organization_id is not None and user.organization_id != organization_id):
        return None
    return user


async def users_page(
    session: AsyncSession, organization_id: str | None, *, limit: int, cursor: str | None
) -> tuple[list[User], str | None]:
    """People ordered by login id, optionally of one organization."""
    query = select(User).order_by(User.login_id)
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    if cursor is not None:
        query = query.where(User.login_id > decode_cursor(cursor, USER_CURSOR))

    async def fetch(n: int) -> Sequence[User]:
        return list(await session.scalars(query.limit(n)))

    return await keyset_page(fetch, limit, lambda u: u.login_id)


async def change_user(session: AsyncSession, user: User, patch: UserPatch) -> dict[str, object]:
    """Apply the given fields; disabling ends the person's sessions at once. The changed fields."""
    changed: dict[str, object] = {}
    for field in ("display_name", "role", "disabled"):
        value = getattr(patch, field)
        if value is not None and value != getattr(user, field):
            setattr(user, field, value)
            changed[field] = value
    if changed.get("disabled") is True:
        await end_sessions(session, user.id)
    await session.flush()
    return changed


async def reset_user(session: AsyncSession, user: User, *, screens_url: str) -> str:
    """End the person's sessions, remove their password and factors; a new enrolment link."""
    await end_sessions(session, user.id)
    user.password_hash = None
    user.totp_secret = None
    user.totp_last_step = None
    await session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return await new_enrolment(session, user.id, screens_url)


async def end_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> None:
    """End every live session of the person (but ``keep``): their cookies open nothing more."""
    query = update(BrowserSession).where(
        BrowserSession.user_id == user_id, BrowserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(BrowserSession.id != keep)
    await session.execute(query.values(ended_at=datetime.now(UTC)))


async def replace_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Ten new single-use codes (shown once); the earlier ones stop working."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user_id, code_hash=code_digest(c)) for c in codes)
    return codes


async def kind_of(session: AsyncSession, organization_id: str) -> str | None:
    return await session.scalar(select(Organization.kind).where(Organization.id == organization_id))


# --- the audited steps the API and the screens take (the caller commits) --------------------


async def create_person(
    session: AsyncSession,
    body: UserIn,
    principal: Principal,
    *,
    screens_url: str,
    client_address: str | None,
    via: str | None = None,
) -> Enrolled:
    """Add the person (PersonConflict, UnknownOrganization) and their enrolment link; audited."""
    enrolled = await add_user(session, body, screens_url=screens_url)
    audit(session, principal, "create_user", client_address=client_address, via=via,
          person=str(enrolled.user.id), for_organization=body.organization_id,
          person_role=body.role)  # fmt: skip
    return enrolled


async def change_person(
    session: AsyncSession,
    user: User,
    patch: UserPatch,
    principal: Principal,
    *,
    client_address: str | None,
    via: str | None = None,
) -> None:
    """Change the given fields (disabling ends the sessions at once); audited when any changed."""
    changed = await change_user(session, user, patch)
    if changed:
        audit(session, principal, "update_user", client_address=client_address, via=via,
              person=str(user.id), changed=sorted(changed))  # fmt: skip


async def reset_person(
    session: AsyncSession,
    user: User,
    principal: Principal,
    *,
    screens_url: str,
    client_address: str | None,
    via: str | None = None,
) -> str:
    """End the sessions, remove password and factors; the new enrolment link. Audited."""
    url = await reset_user(session, user, screens_url=screens_url)
    audit(session, principal, "reset_user", client_address=client_address, via=via,
          person=str(user.id))  # fmt: skip
    return url


async def principal_for(session: AsyncSession, user: User) -> Principal:
    """The principal a person acts as: their organization's kind's reads, their user id."""
    kind = await kind_of(session, user.organization_id)
    return Principal(key_id=None, organization_id=user.organization_id,
                     role=ROLE_BY_KIND[kind or "region"], user_id=user.id,
                     org_admin=user.role == "org_admin")  # fmt: skip
