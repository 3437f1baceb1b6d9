"""Every endpoint x every role: the status code the contract promises, and nothing leaks."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.factories import ADMIN_TOKEN, Api, admission, event, unique

pytestmark = pytest.mark.postgres
ROLES = ("none", "revoked", "hospital", "care_office", "support_center", "viewer", "admin",
         "other_hospital", "other_office")  # fmt: skip


@dataclass
class World:
    """A region with one stay, a flag, and a key for every role."""

    api: Api
    hospital: str
    office: str
    episode_id: str
    flag_id: str
    keys: dict[str, dict[str, str]]


@pytest.fixture
async def world(api: Api) -> World:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    center, muni = await api.org("support_center"), await api.org("municipality")
    keys = {
        "none": {},
        "hospital": await api.key(hospital, "hospital"),
        "care_office": await api.key(office, "care_office"),
        "support_center": await api.key(center, "support_center"),
        "viewer": await api.key(muni, "viewer"),
        "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        "other_hospital": await api.key(await api.org("hospital"), "hospital"),
        "other_office": await api.key(await api.org("care_office"), "care_office"),
    }
    revoked = await api.client.post(
        "/v1/api-keys",
        json={"organization_id": hospital, "role": "hospital"},
        headers=keys["admin"],
    )
    await api.client.delete(f"/v1/api-keys/{revoked.json()['id']}", headers=keys["admin"])
    keys["revoked"] = {"Authorization": f"Bearer {revoked.json()['key']}"}
    adm = admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office)
    episode_id = (await api.post(adm, keys["hospital"])).json()["episode_id"]
    await api.post(
        event("discharge", hospital, "A-1", "2024-06-10T10:00:00+09:00", destination="home"),
        keys["hospital"],
    )
    flag_id = await _raise_flags(api, episode_id)
    return World(api, hospital, office, episode_id, flag_id, keys)


async def _raise_flags(api: Api, episode_id: str) -> str:
    from datetime import datetime

    from sqlalchemy import select

    from shared.episodes.recompute import recompute_episode
    from shared.models import Flag

    sessions = api.client.app.state.sessionmaker  # type: ignore[attr-defined]
    async with sessions() as session, session.begin():
        await recompute_episode(
            session, uuid.UUID(episode_id), datetime.fromisoformat("2024-06-11T00:00:00+09:00")
        )
    async with sessions() as session:
        flag = await session.scalar(select(Flag).where(Flag.episode_id == uuid.UUID(episode_id)))
        assert flag is not None
        return str(flag.id)


Call = Callable[[World, dict[str, str]], Awaitable[httpx.Response]]


def _org_body(w: World) -> dict[str, str]:
    return {"id": unique("O"), "kind": "care_office", "name": "x", "region": w.api.region}


ENDPOINTS: dict[str, Call] = {
    "POST /v1/organizations": lambda w, h: w.api.client.post(
        "/v1/organizations", json=_org_body(w), headers=h
    ),
    "GET /v1/organizations": lambda w, h: w.api.client.get("/v1/organizations", headers=h),
    "PATCH /v1/organizations/{id}": lambda w, h: w.api.client.patch(
        f"/v1/organizations/{w.hospital}", json={"medical_area": "鹿児島"}, headers=h
    ),
    "POST /v1/api-keys": lambda w, h: w.api.client.post(
        "/v1/api-keys", json={"organization_id": w.hospital, "role": "viewer"}, headers=h
    ),
    "DELETE /v1/api-keys/{id}": lambda w, h: w.api.client.delete(
        f"/v1/api-keys/{uuid.uuid4()}", headers=h
    ),
    "PUT /v1/rule-sets/{region}": lambda w, h: w.api.client.put(
        f"/v1/rule-sets/{w.api.region}", json={"effective_from": "2027-01-01"}, headers=h
    ),
    "GET /v1/rule-sets/{region}": lambda w, h: w.api.client.get(
        f"/v1/rule-sets/{w.api.region}", headers=h
    ),
    "GET /v1/episodes/{id}": lambda w, h: w.api.client.get(
        f"/v1/episodes/{w.episode_id}", headers=h
    ),
    "GET /v1/episodes?lookup": lambda w, h: w.api.client.get(
        "/v1/episodes", params={"hospital_id": w.hospital, "encounter_ref": "A-1"}, headers=h
    ),
    "GET /v1/handovers/pending": lambda w, h: w.api.client.get("/v1/handovers/pending", headers=h),
    "GET /v1/flags": lambda w, h: w.api.client.get("/v1/flags", headers=h),
    "POST /v1/flags/{id}/acknowledge": lambda w, h: w.api.client.post(
        f"/v1/flags/{w.flag_id}/acknowledge", json={"note": "seen"}, headers=h
    ),
    "GET /v1/metrics": lambda w, h: w.api.client.get(
        "/v1/metrics", params={"month": "2024-06"}, headers=h
    ),
    "GET /v1/reports/survey": lambda w, h: w.api.client.get(
        "/v1/reports/survey", params={"month": "2024-06", "region": w.api.region}, headers=h
    ),
    "GET /v1/audit": lambda w, h: w.api.client.get("/v1/audit", headers=h),
}

# Expected status per endpoint for: hospital, care_office, support_center, viewer, admin,
# other_hospital, other_office (no key and a revoked key always get 401).
EXPECTED: dict[str, tuple[int, ...]] = {
    "POST /v1/organizations": (403, 403, 403, 403, 201, 403, 403),
    "GET /v1/organizations": (200, 200, 200, 200, 200, 200, 200),
    "PATCH /v1/organizations/{id}": (403, 403, 403, 403, 200, 403, 403),
    "POST /v1/api-keys": (403, 403, 403, 403, 201, 403, 403),
    "DELETE /v1/api-keys/{id}": (403, 403, 403, 403, 404, 403, 403),
    "PUT /v1/rule-sets/{region}": (403, 403, 403, 403, 200, 403, 403),
    "GET /v1/rule-sets/{region}": (200, 200, 200, 200, 200, 200, 200),
    "GET /v1/episodes/{id}": (200, 200, 404, 403, 200, 404, 404),
    "GET /v1/episodes?lookup": (200, 200, 404, 403, 200, 404, 404),
    "GET /v1/handovers/pending": (200, 200, 200, 403, 403, 200, 200),
    "GET /v1/flags": (200, 200, 200, 200, 200, 200, 200),
    "POST /v1/flags/{id}/acknowledge": (200, 200, 404, 403, 200, 404, 404),
    "GET /v1/metrics": (200, 200, 200, 200, 200, 200, 200),
    "GET /v1/reports/survey": (403, 403, 403, 200, 200, 403, 403),
    "GET /v1/audit": (403, 403, 403, 403, 200, 403, 403),
}
PARTY_ROLES = ("hospital", "care_office", "support_center", "viewer", "admin", "other_hospital",
               "other_office")  # fmt: skip


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
async def test_every_role_gets_the_promised_status(world: World, endpoint: str) -> None:
    got = {}
    for role in ROLES:
        r = await ENDPOINTS[endpoint](world, world.keys[role])
        got[role] = r.status_code
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json", (endpoint, role)
    expected = {
        "none": 401,
        "revoked": 401,
        **dict(zip(PARTY_ROLES, EXPECTED[endpoint], strict=True)),
    }
    assert got == expected


async def test_cross_tenant_writes_are_refused_and_change_nothing(world: World) -> None:
    client, w = world.api.client, world
    before = (await client.get(f"/v1/episodes/{w.episode_id}", headers=w.keys["admin"])).json()
    attempts = [
        (
            "other_hospital",
            event(
                "discharge_coordination",
                w.hospital,
                "A-1",
                "2024-06-05T10:00:00+09:00",
                to_org_id=w.office,
                channel="fax",
            ),
        ),
        (
            "other_office",
            event(
                "admission_info",
                w.hospital,
                "A-1",
                "2024-06-04T10:00:00+09:00",
                care_office_id=w.office,
                channel="fax",
            ),
        ),
        (
            "other_office",
            event(
                "care_assignment",
                w.hospital,
                "A-1",
                "2024-06-04T10:00:00+09:00",
                care_office_id=w.office,
            ),
        ),
        (
            "viewer",
            event(
                "discharge_planned",
                w.hospital,
                "A-1",
                "2024-06-04T10:00:00+09:00",
                planned_discharge_date="2024-06-30",
            ),
        ),
    ]
    for role, body in attempts:
        r = await client.post("/v1/events", json=body, headers=w.keys[role])
        assert r.status_code == 403, (role, body["type"], r.text)
    cancel = event(
        "cancel",
        w.hospital,
        "A-1",
        "2024-06-05T10:00:00+09:00",
        cancels_event_id=before["events"][0]["event_id"],
    )
    # An event_id is the poster's own: the office's cancel names none of its events (422, as
    # for an id nobody used), so the answer tells it nothing about the hospital's ids.
    refused = await client.post("/v1/events", json=cancel, headers=w.keys["care_office"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["msg"] == "no event with this id was recorded"
    after = (await client.get(f"/v1/episodes/{w.episode_id}", headers=w.keys["admin"])).json()
    assert after["events"] == before["events"]


async def test_viewers_and_admins_see_flags_without_patient_fields(world: World) -> None:
    for role in ("viewer", "admin"):
        items = (await world.api.client.get("/v1/flags", headers=world.keys[role])).json()["items"]
        assert items, role
        assert all(i["patient"] is None for i in items), role
    mine = (await world.api.client.get("/v1/flags", headers=world.keys["hospital"])).json()["items"]
    assert mine[0]["patient"]["insured_number"] == "0000123456"
    other = (await world.api.client.get("/v1/flags", headers=world.keys["other_hospital"])).json()
    assert other["items"] == []
