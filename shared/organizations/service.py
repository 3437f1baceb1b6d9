"""Registering organizations and issuing API keys.

The admin API's use cases (``create_organization``, ``create_api_key``, ``revoke_api_key``,
named for their audit actions) audit inside the caller's unit of work; the CLI runs the steps
they are made of (``register_organization``, ``issue_key``, ``revoke_key``) in its own
transaction, unaudited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import TypeAdapter
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.api_keys import new_api_key
from shared.access.audit import audit
from shared.access.authentication import announce_revocation
from shared.access.principal import Principal, Role
from shared.core import unit_of_work
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import ApiKey, Organization
from shared.organizations.reference import ReferenceData
from shared.organizations.schemas import OrganizationIn, OrganizationPatch
from shared.rules.bounds import TIMESTAMP_ID_CURSOR, timestamp_id_key
from shared.rules.events import OrgId, reserved_org_id

ORGANIZATION_CURSOR: Final = TypeAdapter(OrgId)  # the id of the last organization

# Which roles a key of each organization kind may carry.
ROLES_BY_KIND: dict[str, frozenset[str]] = {
    "hospital": frozenset({"hospital", "viewer", "admin"}),
    "care_office": frozenset({"care_office", "viewer", "admin"}),
    "support_center": frozenset({"support_center", "viewer", "admin"}),
    "municipality": frozenset({"viewer", "admin"}),
    "region": frozenset({"viewer", "admin"}),
}


class OrganizationConflict(Exception):
    """The id exists with different fields, or another organization has its sending facility."""


class KeyNotAllowed(ValueError):
    """The organization is unknown or the role does not fit its kind."""


async def register_organization(
    session: AsyncSession, data: OrganizationIn
) -> tuple[Organization, bool]:
    """Create the organization; an identical repeat is fine, a different one conflicts."""
    values = data.model_dump()
    facility = data.hl7_sending_facility
    if facility is not None:
        await _facility_free(session, facility, data.id)
    try:
        async with session.begin_nested():  # a racing registration of the facility aborts only this
            inserted = await session.scalar(
                insert(Organization)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[Organization.id])
                .returning(Organization.id)
            )
    except IntegrityError as exc:
        if facility is not None and FACILITY_CONSTRAINT in str(exc.orig):
            raise _facility_taken(facility) from None
        raise
    org = await session.get(Organization, data.id, populate_existing=True)
    assert org is not None
    if inserted is None and any(getattr(org, k) != v for k, v in values.items()):
        raise OrganizationConflict(
            f"organization {data.id} exists with different fields;"
            " use a new id or send the same fields"
        )
    return org, inserted is not None


FACILITY_CONSTRAINT = "uq_organizations_hl7_sending_facility"


def _facility_taken(facility: str) -> OrganizationConflict:
    return OrganizationConflict(
        f"hl7_sending_facility {facility} is already another organization's; each hospital's"
        " MSH-4 must be unique so that the MLLP listener knows who sent a message"
    )


async def _facility_free(session: AsyncSession, facility: str, org_id: str) -> None:
    """Refuse a sending facility another organization already has (409, with the reason)."""
    holder = await session.scalar(
        select(Organization.id).where(
            Organization.hl7_sending_facility == facility, Organization.id != org_id
        )
    )
    if holder is not None:
        raise _facility_taken(facility)


class OrganizationNotFound(LookupError):
    """No organization with this id."""


class NotAHospital(ValueError):
    """A hospital-only field (the HL7 sending facility) sent for another kind."""


async def change_organization(
    session: AsyncSession, org_id: str, patch: OrganizationPatch
) -> Organization:
    """Apply the fields sent (name, municipality_code, medical_area, hl7_sending_facility)."""
    org = await session.get(Organization, org_id, with_for_update=True)
    if org is None:
        raise OrganizationNotFound(f"organization {org_id} is not registered")
    changes = patch.changes()
    facility = changes.get("hl7_sending_facility")
    if facility is not None:
        if org.kind != "hospital":
            raise NotAHospital(f"only a hospital has an HL7 sending facility, not a {org.kind}")
        await _facility_free(session, str(facility), org_id)
    for name, value in changes.items():
        setattr(org, name, value)
    try:
        async with session.begin_nested():  # a racing registration of the facility
            await session.flush()
    except IntegrityError as exc:
        if facility is not None and FACILITY_CONSTRAINT in str(exc.orig):
            raise _facility_taken(str(facility)) from None
        raise
    return org


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``key`` is shown once and never stored."""

    id: uuid.UUID
    key: str
    organization_id: str
    role: Role
    record: ApiKey


async def issue_key(session: AsyncSession, organization_id: str, role: Role) -> IssuedKey:
    """Create a random key for the organization with a role that fits its kind."""
    org = await session.get(Organization, organization_id)
    if org is None:
        raise KeyNotAllowed(f"organization {organization_id} is not registered")
    if reserved_org_id(org.id) and role != "admin":  # registered before the id was reserved
        raise KeyNotAllowed(f"organization {org.id} has a reserved id; only admin keys")
    if role not in ROLES_BY_KIND[org.kind]:
        raise KeyNotAllowed(f"an organization of kind {org.kind} cannot hold a {role} key")
    key, prefix, digest = new_api_key()
    record = ApiKey(
        id=uuid.uuid4(), prefix=prefix, key_hash=digest, organization_id=org.id, role=role
    )
    session.add(record)
    await session.flush()
    return IssuedKey(record.id, key, org.id, role, record)


async def revoke_key(session: AsyncSession, key_id: uuid.UUID) -> bool:
    """Revoke a key (it then gets 401 from every API process); False when no such key exists."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey.id)
    )
    if result.first() is not None:
        await announce_revocation(session)
        return True
    return await session.scalar(select(ApiKey.id).where(ApiKey.id == key_id)) is not None


async def list_organizations(
    session: AsyncSession,
    *,
    kind: str | None = None,
    region: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> list[Organization]:
    """Organizations by id, optionally of one kind and/or region, after a page's last id."""
    query = select(Organization).order_by(Organization.id)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    if region is not None:
        query = query.where(Organization.region == region)
    if after is not None:
        query = query.where(Organization.id > after)
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


async def organization_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    """Names of the given organizations in one query (ids unknown to the service are absent)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
    )
    return dict(rows.all())


async def region_known(session: AsyncSession, region: str) -> bool:
    """Whether any organization belongs to ``region`` (an unknown region is a 404, not zeros)."""
    query = select(Organization.id).where(Organization.region == region).limit(1)
    return await session.scalar(query) is not None


async def list_api_keys(
    session: AsyncSession,
    organization_id: str | None,
    *,
    limit: int | None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[ApiKey]:
    """Keys oldest first (then by id), optionally of one organization, after a page's last key."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if organization_id is not None:
        query = query.where(ApiKey.organization_id == organization_id)
    if after is not None:
        query = query.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(*after))
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


async def create_organization(
    session: AsyncSession,
    data: OrganizationIn,
    principal: Principal,
    *,
    client_address: str | None = None,
) -> tuple[Organization, bool]:
    """Register the organization (an identical repeat: False, unaudited)."""
    org, created = await register_organization(session, data)
    if created:
        audit(session, principal, "create_organization", client_address=client_address,
              organization=org.id)  # fmt: skip
    return org, created


async def update_organization(
    session: AsyncSession,
    org_id: str,
    patch: OrganizationPatch,
    principal: Principal,
    *,
    reference: ReferenceData,
    client_address: str | None = None,
) -> Organization:
    """Change an organization's fields, audited (the names of the fields, never values); this
    process's reference cache forgets it once committed (others within their TTL)."""
    org = await change_organization(session, org_id, patch)
    audit(session, principal, "update_organization", client_address=client_address,
          organization=org.id, fields=sorted(patch.model_fields_set))  # fmt: skip
    unit_of_work.on_commit(session, lambda: reference.forget_organization(org_id))
    return org


async def create_api_key(
    session: AsyncSession,
    organization_id: str,
    role: Role,
    principal: Principal,
    *,
    client_address: str | None = None,
) -> IssuedKey:
    """Issue a key (KeyNotAllowed: unknown organization or a role its kind cannot hold)."""
    issued = await issue_key(session, organization_id, role)
    audit(session, principal, "create_api_key", client_address=client_address,
          api_key=str(issued.id), for_organization=issued.organization_id,
          key_role=issued.role)  # fmt: skip
    return issued


async def revoke_api_key(
    session: AsyncSession,
    key_id: uuid.UUID,
    principal: Principal,
    *,
    client_address: str | None = None,
) -> bool:
    """Revoke a key, audited; False (nothing written) when no such key exists."""
    if not await revoke_key(session, key_id):
        return False
    audit(session, principal, "revoke_api_key", client_address=client_address,
          api_key=str(key_id))  # fmt: skip
    return True


async def organizations_page(
    session: AsyncSession,
    *,
    kind: str | None,
    region: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Organization], str | None]:
    """A page of organizations by id, and the next page's cursor."""
    after = decode_cursor(cursor, ORGANIZATION_CURSOR) if cursor is not None else None

    async def fetch(n: int) -> Sequence[Organization]:
        return await list_organizations(session, kind=kind, region=region, limit=n, after=after)

    return await keyset_page(fetch, limit, lambda org: org.id)


async def api_keys_page(
    session: AsyncSession, organization_id: str | None, *, limit: int, cursor: str | None
) -> tuple[list[ApiKey], str | None]:
    """A page of keys oldest first, and the next page's cursor."""
    after = decode_cursor(cursor, TIMESTAMP_ID_CURSOR) if cursor is not None else None

    async def fetch(n: int) -> Sequence[ApiKey]:
        return await list_api_keys(session, organization_id, limit=n, after=after)

    return await keyset_page(fetch, limit, lambda key: timestamp_id_key(key.created_at, key.id))
