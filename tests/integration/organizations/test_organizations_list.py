"""GET /v1/organizations: every key turns ids into names; `kind` and `region` really filter."""

from __future__ import annotations

import pytest

from tests.factories import Api, admin_headers, unique

pytestmark = pytest.mark.postgres


async def test_every_key_reads_organizations_filtered_by_kind_and_region(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    municipality = await api.org("municipality")
    other = Api(api.client)
    elsewhere = await other.org("hospital")
    for role, org in (("care_office", office), ("hospital", hospital), ("viewer", municipality)):
        key = await api.key(org, role)
        r = await api.client.get("/v1/organizations", params={"region": api.region}, headers=key)
        assert r.status_code == 200, (role, r.text)
        assert [o["id"] for o in r.json()["items"]] == sorted([hospital, office, municipality])
    key = await api.key(office, "care_office")
    r = await api.client.get(
        "/v1/organizations", params={"region": api.region, "kind": "hospital"}, headers=key
    )
    assert [(o["id"], o["name"]) for o in r.json()["items"]] == [(hospital, f"hospital {hospital}")]
    r = await api.client.get("/v1/organizations", params={"kind": "hospital"}, headers=key)
    assert {o["kind"] for o in r.json()["items"]} == {"hospital"}
    r = await api.client.get("/v1/organizations", params={"region": other.region}, headers=key)
    assert [o["id"] for o in r.json()["items"]] == [elsewhere]


async def test_organization_pages_follow_the_cursor_within_the_filter(api: Api) -> None:
    offices = sorted([await api.org("care_office") for _ in range(5)])
    await api.org("hospital")
    key = await api.key(offices[0], "care_office")
    seen: list[str] = []
    params: dict[str, str | int] = {"region": api.region, "kind": "care_office", "limit": 2}
    while True:
        page = (await api.client.get("/v1/organizations", params=params, headers=key)).json()
        seen += [o["id"] for o in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == offices


async def test_writing_organizations_stays_admin_only(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    body = {"id": unique("H"), "kind": "hospital", "name": "x", "region": api.region}
    r = await api.client.post("/v1/organizations", json=body, headers=key)
    assert r.status_code == 403
    r = await api.client.post("/v1/organizations", json=body, headers=admin_headers())
    assert r.status_code == 201
    bad = await api.client.get("/v1/organizations", params={"kind": "ward"}, headers=key)
    assert bad.status_code == 422
