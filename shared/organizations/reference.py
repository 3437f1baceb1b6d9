"""Reference data the API reads on every event, cached per process.

Organizations change rarely (an admin's `PATCH /v1/organizations/{id}`): a known one, and a
hospital found by its HL7 sending facility, is kept for ``organization_ttl`` seconds and dropped
at once when this process changes it; only unknown ids reach the database in between. Rule sets
can change, so they are kept for a few seconds and dropped at once when this process stores a
new version; the worker always
refolds with the rule sets it reads itself, so a stale ingest-time fold is corrected by the
recompute that every stored event triggers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Organization
from shared.organizations.rule_sets import region_rule_sets
from shared.rules.rule_set import RuleSet

RULE_SET_TTL_SECONDS = 5.0
ORGANIZATION_TTL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class OrgRef:
    """What ingestion needs of an organization."""

    id: str
    kind: str
    region: str
    medical_area: str | None


def _ref(org: Organization) -> OrgRef:
    return OrgRef(org.id, org.kind, org.region, org.medical_area)


async def hospital_for_sending_facility(session: AsyncSession, facility: str) -> OrgRef | None:
    """The hospital whose ``hl7_sending_facility`` is MSH-4's first component, if any.

    The MLLP listener has no API key: the sending facility is how it knows which hospital a
    message is from. Matched exactly (case and all); only a hospital can hold one.
    """
    org = await session.scalar(
        select(Organization).where(
            Organization.hl7_sending_facility == facility, Organization.kind == "hospital"
        )
    )
    return None if org is None else _ref(org)


@dataclass
class ReferenceData:
    """One per process (the API's app state); a fresh one per call caches nothing across calls."""

    rule_set_ttl: float = RULE_SET_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    organization_ttl: float = ORGANIZATION_TTL_SECONDS
    _orgs: dict[str, OrgRef] = field(default_factory=dict)
    _facilities: dict[str, tuple[float, OrgRef]] = field(default_factory=dict)
    _orgs_read_at: float = 0.0
    _rule_sets: dict[str, tuple[float, list[RuleSet]]] = field(default_factory=dict)

    async def organizations(self, session: AsyncSession, ids: Collection[str]) -> dict[str, OrgRef]:
        """The registered organizations among ``ids`` (unknown ids are simply absent)."""
        now = self.clock()
        if now - self._orgs_read_at >= self.organization_ttl:
            self._orgs.clear()  # an admin may have changed one since (its medical area)
            self._orgs_read_at = now
        missing = [i for i in ids if i not in self._orgs]
        if missing:
            for org in await session.scalars(
                select(Organization).where(Organization.id.in_(missing))
            ):
                self._orgs[org.id] = _ref(org)
        return {i: self._orgs[i] for i in ids if i in self._orgs}

    async def hospital_for_sending_facility(
        self, session: AsyncSession, facility: str
    ) -> OrgRef | None:
        """The same lookup, cached for ``organization_ttl`` seconds once found."""
        now = self.clock()
        cached = self._facilities.get(facility)
        if cached is not None and now - cached[0] < self.organization_ttl:
            return cached[1]
        found = await hospital_for_sending_facility(session, facility)
        if found is None:  # an unknown facility may be registered a minute later
            self._facilities.pop(facility, None)
        else:
            self._facilities[facility] = (now, found)
        return found

    def forget_organization(self, org_id: str) -> None:
        """This process changed the organization: the next message or event reads it afresh."""
        self._orgs.pop(org_id, None)
        for facility in [f for f, (_, ref) in self._facilities.items() if ref.id == org_id]:
            del self._facilities[facility]

    async def rule_sets(self, session: AsyncSession, region: str) -> list[RuleSet]:
        """The region's rule-set versions, at most ``rule_set_ttl`` seconds old."""
        now = self.clock()
        cached = self._rule_sets.get(region)
        if cached is not None and now - cached[0] < self.rule_set_ttl:
            return cached[1]
        versions = await region_rule_sets(session, region)
        self._rule_sets[region] = (now, versions)
        return versions

    def forget_rule_sets(self, region: str) -> None:
        """This process stored a new version: the next event reads the region's afresh."""
        self._rule_sets.pop(region, None)
