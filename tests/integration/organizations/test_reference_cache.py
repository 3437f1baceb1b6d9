"""The per-process cache of organizations and rule sets (shared/organizations/reference.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Organization, RuleSetVersion
from shared.organizations.reference import ReferenceData
from tests.factories import Api, unique

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_unknown_organizations_are_looked_up_again_once_registered(
    api: Api, db: async_sessionmaker[AsyncSession]
) -> None:
    reference = ReferenceData()
    hospital = await api.org("hospital")
    async with db() as session:
        assert await reference.organizations(session, ["NOPE-1"]) == {}
        found = await reference.organizations(session, [hospital, "NOPE-1"])
    assert list(found) == [hospital]
    assert (found[hospital].kind, found[hospital].region) == ("hospital", api.region)


async def test_rule_sets_are_reread_after_the_ttl_or_when_forgotten(
    api: Api, db: async_sessionmaker[AsyncSession]
) -> None:
    clock = Clock()
    reference = ReferenceData(rule_set_ttl=5.0, clock=clock)

    async def deadline_days() -> list[int]:
        async with db() as session:
            versions = await reference.rule_sets(session, api.region)
        return [v.admission_info_deadline_days for v in versions]

    async def store(days: int) -> None:
        async with db() as session, session.begin():
            await session.merge(
                RuleSetVersion(
                    region=api.region,
                    effective_from=date(2024, 6, 1),
                    params={"admission_info_deadline_days": days},
                )
            )

    assert await deadline_days() == []
    await store(2)
    clock.now += 4.9
    assert await deadline_days() == []  # still the cached read
    clock.now += 0.2
    assert await deadline_days() == [2]
    await store(3)
    reference.forget_rule_sets(api.region)
    assert await deadline_days() == [3]


async def test_a_changed_organization_is_reread_after_the_ttl_or_when_forgotten(
    api: Api, db: async_sessionmaker[AsyncSession]
) -> None:
    # Organizations change now (PATCH /v1/organizations/{id}): a sending facility moved to
    # another hospital, or a new medical area, is seen by every process within the TTL.
    clock = Clock()
    reference = ReferenceData(organization_ttl=30.0, clock=clock)
    first, second = await api.org("hospital"), await api.org("hospital")
    facility = unique("F")

    async def set_facility(org_id: str, value: str | None) -> None:
        async with db() as session, session.begin():
            org = await session.get(Organization, org_id)
            assert org is not None
            org.hl7_sending_facility = value
            org.medical_area = f"area of {value}"

    async def holder() -> str | None:
        async with db() as session:
            found = await reference.hospital_for_sending_facility(session, facility)
        return None if found is None else found.id

    async def area(org_id: str) -> str | None:
        async with db() as session:
            return (await reference.organizations(session, [org_id]))[org_id].medical_area

    await set_facility(first, facility)
    assert await holder() == first
    assert await area(first) == f"area of {facility}"
    await set_facility(first, None)
    await set_facility(second, facility)
    clock.now += 29.9
    assert await holder() == first  # cached
    assert await area(first) == f"area of {facility}"  # cached
    clock.now += 0.2
    assert await holder() == second  # another process changed it: read after the TTL
    assert await area(first) == "area of None"
    await set_facility(first, "Y" + facility[:19])
    assert await area(first) == "area of None"  # cached
    reference.forget_organization(first)  # this process changed it: read at once
    assert await area(first) == f"area of Y{facility[:19]}"
