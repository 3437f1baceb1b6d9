"""The contract's edges (api.md, Conventions): JSON bodies in UTF-8 or 415, `Allow` naming every
method on a 405, `cursor=` as the first page on every list, strict types in rule sets, and ASCII
digits wherever the contract says digits."""

from __future__ import annotations

import pytest

from shared.rules.rule_set import RULE_SET_EXAMPLE
from tests.factories import Api, admin_headers, admission

pytestmark = pytest.mark.postgres

ADMITTED = "2024-06-03T10:15:00+09:00"
JSON = {"content-type": "application/json"}
JSON_BODY_ROUTES = [
    ("POST", "/v1/events"),
    ("POST", "/v1/events:batch"),
    ("POST", "/v1/organizations"),
    ("POST", "/v1/api-keys"),
    ("POST", "/v1/webhooks"),
]


@pytest.mark.parametrize(("method", "path"), JSON_BODY_ROUTES)
@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("text/plain", "utf-8"),
        ("application/x-www-form-urlencoded", "utf-8"),
        (None, "utf-8"),
        ("application/json; charset=utf-16", "utf-16"),
        ("application/json", "utf-16"),
        ("application/json; charset=latin-1", "latin-1"),
    ],
)
async def test_a_body_that_is_not_utf8_json_is_415_and_stores_nothing(
    api: Api, method: str, path: str, content_type: str | None, encode: str
) -> None:
    hospital, office, _, _ = await api.parties()
    body = admission(hospital, "A-1", ADMITTED, office)
    raw = str(body).replace("'", '"').replace("None", "null").encode(encode)
    headers = {**admin_headers(), **({"content-type": content_type} if content_type else {})}
    r = await api.client.request(method, path, content=raw, headers=headers)
    assert r.status_code == 415, (path, content_type, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["header", "content-type"]
    found = await api.client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": "A-1"},
        headers=admin_headers(),
    )  # fmt: skip
    assert found.status_code == 404


async def test_unparseable_json_is_400_even_where_every_field_is_optional(api: Api) -> None:
    _, _, key, _ = await api.parties()
    hook = {"url": "https://hooks.example.jp/in", "event_types": ["episode.admitted"]}
    created = await api.client.post("/v1/webhooks", json=hook, headers=key)
    assert created.status_code == 201, created.text
    path = f"/v1/webhooks/{created.json()['id']}"
    for raw in (b"}", b"{", b"[1,"):
        r = await api.client.patch(path, content=raw, headers={**key, **JSON})
        assert r.status_code == 400, (raw, r.text)
    assert (await api.client.get(path, headers=key)).json()["enabled"] is True


async def test_the_415_comes_after_authentication(api: Api) -> None:
    r = await api.client.post("/v1/events", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 401


async def test_json_with_a_utf8_charset_is_accepted(api: Api) -> None:
    hospital, office, key, _ = await api.parties()
    body = admission(hospital, "A-1", ADMITTED, office)
    raw = str(body).replace("'", '"').replace("None", "null").encode()
    headers = {**key, "content-type": "application/json; charset=UTF-8"}
    assert (await api.client.post("/v1/events", content=raw, headers=headers)).status_code == 201


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/organizations", {"GET", "POST"}),
        ("/v1/rule-sets/r1", {"GET", "PUT"}),
        ("/v1/webhooks", {"GET", "POST"}),
        ("/v1/webhooks/00000000-0000-0000-0000-000000000000", {"GET", "PATCH", "DELETE"}),
        ("/v1/events", {"POST"}),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    api: Api, path: str, allowed: set[str]
) -> None:
    r = await api.client.request("OPTIONS", path, headers=admin_headers())
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == allowed


LISTS = ["/v1/organizations", "/v1/api-keys", "/v1/flags", "/v1/audit", "/v1/webhooks",
         "/v1/admin/set-aside-episodes", "/v1/handovers/pending"]  # fmt: skip


@pytest.mark.parametrize("path", LISTS)
async def test_an_empty_cursor_is_the_first_page_on_every_list(api: Api, path: str) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital") if path == "/v1/handovers/pending" else None
    headers = key or admin_headers()
    first = await api.client.get(path, params={"limit": 2}, headers=headers)
    empty = await api.client.get(path, params={"limit": 2, "cursor": ""}, headers=headers)
    assert first.status_code == 200, first.text
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"] == first.json()["items"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("short_stay_max_days", False),
        ("short_stay_max_days", True),
        ("short_stay_max_days", "3"),
        ("short_stay_max_days", 3.0),
        ("admission_info_deadline_days", True),
        ("discharge_notice_lead_days", "7"),
        ("after_hours_rolls_to_next_day", 0),
        ("after_hours_rolls_to_next_day", "true"),
    ],
)
async def test_rule_sets_take_integers_and_booleans_only_as_such(
    api: Api, field: str, value: object
) -> None:
    await api.org("hospital")
    version = {**RULE_SET_EXAMPLE, field: value}
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json=version, headers=admin_headers())
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][:2] == ["body", field]
    listed = await api.client.get(f"/v1/rule-sets/{api.region}", headers=admin_headers())
    assert listed.json() == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/reports/survey", {"month": "２０２４-06"}),
        ("/v1/reports/survey", {"month": "2024-０6"}),
        ("/v1/metrics", {"month": "٢٠٢٤-06"}),
        ("/v1/metrics", {"from": "２０２４-06-01", "to": "2024-06-30"}),
        ("/v1/audit", {"since": "２０２４-06-01T00:00:00+09:00"}),
    ],
)
async def test_digits_are_ascii_digits_only(api: Api, path: str, params: dict[str, str]) -> None:
    r = await api.client.get(path, params=params, headers=admin_headers())
    assert 400 <= r.status_code < 500, r.text
    assert "２０２４" not in r.text
    assert r.headers["content-type"] == "application/problem+json"
