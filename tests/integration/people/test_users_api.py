"""POST/GET/PATCH /v1/users and POST /v1/users/{id}/reset: the admin key's people API."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.factories import Api, admin_headers, unique

pytestmark = pytest.mark.postgres


def _body(org: str, login_id: str | None = None, **extra: str) -> dict[str, str]:
    return {"organization_id": org, "login_id": login_id or unique("u."),
            "display_name": "介護 太郎", "role": "member", **extra}  # fmt: skip


async def test_creating_a_person_answers_a_one_time_enrolment_url(api: Api) -> None:
    org = await api.org("care_office")
    login_id = unique("Care.Manager.")
    r = await api.client.post("/v1/users", json=_body(org, login_id, role="org_admin"),
                              headers=admin_headers())  # fmt: skip
    assert r.status_code == 201, r.text
    out = r.json()
    assert {k: out[k] for k in ("organization_id", "login_id", "display_name", "role",
                                 "disabled")} == {
        "organization_id": org, "login_id": login_id.lower(), "display_name": "介護 太郎",
        "role": "org_admin", "disabled": False}  # fmt: skip
    assert out["enrolment_url"].startswith("http://localhost:8000/ui/enrol/")
    assert len(out["enrolment_url"].rsplit("/", 1)[1]) >= 40
    listed = await api.client.get("/v1/users", params={"organization_id": org},
                                  headers=admin_headers())  # fmt: skip
    assert [u["id"] for u in listed.json()["items"]] == [out["id"]]
    assert "enrolment_url" not in listed.json()["items"][0]


async def test_a_taken_login_id_is_409_whatever_its_case(api: Api) -> None:
    org = await api.org("hospital")
    login_id = unique("same.")
    first = await api.client.post("/v1/users", json=_body(org, login_id), headers=admin_headers())
    assert first.status_code == 201
    again = await api.client.post("/v1/users", json=_body(org, login_id.upper()),
                                  headers=admin_headers())  # fmt: skip
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("field", "value"),
    [("login_id", "ab"), ("login_id", "名前"), ("login_id", "x" * 65), ("role", "admin"),
     ("display_name", ""), ("display_name", "a\u0000b")],
)  # fmt: skip
async def test_invalid_fields_are_422_and_add_nobody(api: Api, field: str, value: str) -> None:
    org = await api.org("hospital")
    r = await api.client.post("/v1/users", json={**_body(org), field: value},
                              headers=admin_headers())  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][-1] == field
    listed = await api.client.get("/v1/users", params={"organization_id": org},
                                  headers=admin_headers())  # fmt: skip
    assert listed.json()["items"] == []


async def test_an_unknown_organization_is_422(api: Api) -> None:
    r = await api.client.post("/v1/users", json=_body(unique("H")), headers=admin_headers())
    assert r.status_code == 422
    assert "not registered" in r.json()["detail"]


async def test_only_the_admin_key_manages_people(api: Api) -> None:
    org = await api.org("hospital")
    key = await api.key(org, "hospital")
    assert (await api.client.post("/v1/users", json=_body(org), headers=key)).status_code == 403
    assert (await api.client.get("/v1/users", headers=key)).status_code == 403
    assert (await api.client.get("/v1/users")).status_code == 401


async def test_patch_changes_name_and_role_and_unknown_ids_are_404(api: Api) -> None:
    org = await api.org("support_center")
    created = (await api.client.post("/v1/users", json=_body(org), headers=admin_headers())).json()
    r = await api.client.patch(f"/v1/users/{created['id']}",
                               json={"display_name": "地域 次郎", "role": "org_admin"},
                               headers=admin_headers())  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["display_name"], r.json()["role"]) == ("地域 次郎", "org_admin")
    for loose in ("yes please", 0, 1, "true"):
        bad = await api.client.patch(f"/v1/users/{created['id']}", json={"disabled": loose},
                                     headers=admin_headers())  # fmt: skip
        assert bad.status_code == 422, loose
        assert "disabled" in bad.text
    listed = (await api.client.get("/v1/users", headers=admin_headers(),
                                   params={"organization_id": org})).json()["items"]  # fmt: skip
    assert [u["disabled"] for u in listed if u["id"] == created["id"]] == [False]
    missing = f"/v1/users/{uuid.uuid4()}"
    assert (await api.client.patch(missing, json={"disabled": True},
                                   headers=admin_headers())).status_code == 404  # fmt: skip
    assert (await api.client.post(f"{missing}/reset", headers=admin_headers())).status_code == 404


async def test_the_list_pages_by_login_id(api: Api) -> None:
    org = await api.org("hospital")
    made = sorted([unique(f"{n}.") for n in "abc"])
    for login_id in made:
        r = await api.client.post("/v1/users", json=_body(org, login_id), headers=admin_headers())
        assert r.status_code == 201
    seen: list[str] = []
    cursor = ""
    while True:
        page: httpx.Response = await api.client.get(
            "/v1/users", params={"organization_id": org, "limit": 2, "cursor": cursor},
            headers=admin_headers())  # fmt: skip
        seen += [u["login_id"] for u in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == made
