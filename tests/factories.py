"""Builders for organizations, keys and events through the public API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.privacy import INSURED_NUMBERS

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


class Api:
    """A test's own region: unique ids so tests can run in any order against one database."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.region = unique("r-")

    async def org(self, kind: str, *, medical_area: str | None = "kagoshima") -> str:
        org_id = unique({"hospital": "H", "care_office": "C", "support_center": "S"}.get(kind, "M"))
        body = {
            "id": org_id,
            "kind": kind,
            "name": f"{kind} {org_id}",
            "region": self.region,
            "medical_area": medical_area,
        }
        r = await self.client.post("/v1/organizations", json=body, headers=admin_headers())
        assert r.status_code == 201, r.text
        return org_id

    async def key(self, org_id: str, role: str) -> dict[str, str]:
        r = await self.client.post(
            "/v1/api-keys", json={"organization_id": org_id, "role": role}, headers=admin_headers()
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['key']}"}

    async def parties(self) -> tuple[str, str, dict[str, str], dict[str, str]]:
        """A hospital and a care office of this region, with a key for each."""
        hospital, office = await self.org("hospital"), await self.org("care_office")
        return (
            hospital,
            office,
            await self.key(hospital, "hospital"),
            await self.key(office, "care_office"),
        )

    async def post(self, event: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/v1/events", json=event, headers=headers)


def patient(insured: str = "0000123456") -> dict[str, str]:
    INSURED_NUMBERS.add(insured)
    return {"insurer_number": "462010", "insured_number": insured}


def event(
    type_: str, hospital_id: str, encounter_ref: str, occurred_at: str, **fields: Any
) -> dict[str, Any]:
    """An event body with a fresh event_id."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "occurred_at": occurred_at,
        "hospital_id": hospital_id,
        "encounter_ref": encounter_ref,
        **fields,
    }


def admission(
    hospital_id: str, ref: str, at: str, care_office_id: str | None, **fields: Any
) -> dict[str, Any]:
    return event(
        "admission",
        hospital_id,
        ref,
        at,
        patient=patient(),
        care_level="care_2",
        ward_type="general",
        care_office_id=care_office_id,
        **fields,
    )
