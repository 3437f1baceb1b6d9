"""Date, timestamp and cursor bounds (domain.md): outside them a 4xx problem+json, never a 500.

Every date lies in 2000-01-01 … today + 3 years (Asia/Tokyo), every timestamp in
2000-01-01T00:00+09:00 … now + 24 h, in bodies, queries and cursors alike.
"""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any

import pytest

from shared.rules.bounds import latest_date, server_today
from tests.factories import Api, admin_headers, admission, event, unique
from tests.reliability.test_bad_input import assert_problem

pytestmark = pytest.mark.postgres
AT = "2025-06-02T10:00:00+09:00"
BAD_CURSOR = "cursor is not valid; pass next_cursor exactly as returned"


def _cursor(raw: bytes | str) -> str:
    """A cursor as this service encodes one, around any JSON text."""
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _beyond() -> str:
    """The first date after the upper bound (three years after today, Asia/Tokyo)."""
    return (latest_date(server_today()) + timedelta(days=1)).isoformat()


def _locs(body: dict[str, Any]) -> list[list[Any]]:
    return [e["loc"] for e in body.get("errors") or []]


async def _nothing_stored(api: Api, hospital: str, ref: str) -> None:
    where = {"hospital_id": hospital, "encounter_ref": ref}
    r = await api.client.get("/v1/episodes", params=where, headers=admin_headers())
    assert r.status_code == 404, r.text


async def test_a_planned_discharge_in_year_1_is_refused_and_the_reads_keep_answering(
    api: Api,
) -> None:
    hospital, office, key, office_key = await api.parties()
    ref = unique("Y1-")
    body = admission(hospital, ref, AT, office, planned_discharge_date="0001-01-02")
    problem = assert_problem(await api.post(body, key), 422)
    assert ["body", "planned_discharge_date"] in _locs(problem)
    await _nothing_stored(api, hospital, ref)
    for headers in (key, office_key):
        assert (await api.client.get("/v1/handovers/pending", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "day", ["0001-01-02", "1999-12-31", "beyond", "2999-12-31", "9999-12-31", "2025-02-30"]
)
@pytest.mark.parametrize("type_", ["admission", "discharge_planned", "discharge_coordination"])
async def test_every_date_field_outside_2000_to_three_years_ahead_is_422_and_not_stored(
    api: Api, type_: str, day: str
) -> None:
    hospital, office, key, _ = await api.parties()
    ref = unique("DB-")
    planned = _beyond() if day == "beyond" else day
    if type_ == "admission":
        body = admission(hospital, ref, AT, office, planned_discharge_date=planned)
    elif type_ == "discharge_planned":
        body = event(type_, hospital, ref, AT, planned_discharge_date=planned)
    else:
        body = event(type_, hospital, ref, AT, to_org_id=office, channel="fax",
                     planned_discharge_date=planned)  # fmt: skip
    problem = assert_problem(await api.post(body, key), 422)
    assert ["body", "planned_discharge_date"] in _locs(problem)
    await _nothing_stored(api, hospital, ref)
    r = await api.client.post("/v1/events:batch", json={"events": [body]}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "invalid"
    await _nothing_stored(api, hospital, ref)


async def test_the_last_date_in_bounds_is_accepted(api: Api) -> None:
    hospital, office, key, _ = await api.parties()
    last = latest_date(server_today()).isoformat()
    body = admission(hospital, unique("L-"), AT, office, planned_discharge_date=last)
    assert (await api.post(body, key)).status_code == 201
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json={"effective_from": "2000-01-01"},
                             headers=admin_headers())  # fmt: skip
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("day", ["1999-12-31", "beyond", "2999-12-31", "0001-01-01"])
async def test_a_rule_set_effective_outside_the_bounds_is_422_and_not_stored(
    api: Api, day: str
) -> None:
    effective = _beyond() if day == "beyond" else day
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json={"effective_from": effective},
                             headers=admin_headers())  # fmt: skip
    assert ["body", "effective_from"] in _locs(assert_problem(r, 422))
    r = await api.client.get(f"/v1/rule-sets/{api.region}", headers=admin_headers())
    assert r.json() == []


def _query_cases() -> list[tuple[str, dict[str, str], str]]:
    """(path, query, the parameter the problem must name) for every date in a query."""
    beyond = _beyond()
    beyond_month = beyond[:7] if beyond.endswith("-01") else _month_after(beyond)
    next_fiscal_year = str(date.fromisoformat(beyond).year + (beyond[5:] >= "04-02"))
    cases: list[tuple[str, dict[str, str], str]] = []
    for path in ("/v1/metrics", "/v1/metrics/series"):
        extra = {"metric": "discharge_miss_rate"} if path.endswith("series") else {}
        for params, name in [
            ({"from": "1999-12-31", "to": "2000-01-31"}, "from"),
            ({"from": "2025-01-01", "to": beyond}, "to"),
            ({"from": "0001-01-01", "to": "0001-01-31"}, "from"),
            ({"window": "30d", "as_of": beyond}, "as_of"),
            ({"window": "30d", "as_of": "1999-12-31"}, "as_of"),
            ({"month": "1999-12"}, "month"),
            ({"month": beyond_month}, "month"),
            ({"month": "0000-01"}, "month"),
            ({"month": "9999-12"}, "month"),
            ({"fiscal_year": "1999"}, "fiscal_year"),
            ({"fiscal_year": next_fiscal_year}, "fiscal_year"),
            ({"fiscal_year": "99999999999999999999"}, "fiscal_year"),
        ]:
            cases.append((path, {**params, **extra}, name))
    for month in ("1999-12", beyond_month, "0000-01", "9999-12"):
        cases.append(("/v1/reports/survey", {"month": month}, "month"))
    for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "0.5",
                  "1717380000", "2025-06-02T10:00:00", "2025-06-02", "1999-12-31T23:59:59+09:00",
                  "2025-02-30T10:00:00+09:00"):  # fmt: skip
        cases.append(("/v1/audit", {"since": value}, "since"))
        cases.append(("/v1/audit", {"until": value}, "until"))
    return cases


def _month_after(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.year + (d.month == 12):04d}-{d.month % 12 + 1:02d}"


@pytest.mark.parametrize(("path", "params", "name"), _query_cases())
async def test_every_date_and_timestamp_in_a_query_outside_the_bounds_is_422(
    api: Api, path: str, params: dict[str, str], name: str
) -> None:
    r = await api.client.get(path, params=params, headers=admin_headers())
    problem = assert_problem(r, 422)
    assert any(loc[-1] == name for loc in _locs(problem)), problem


async def test_the_first_and_last_days_in_bounds_are_answered(api: Api) -> None:
    last = latest_date(server_today())
    month_ago = (last - timedelta(days=30)).isoformat()
    for path, params in [
        ("/v1/metrics", {"month": "2000-01"}),
        ("/v1/metrics", {"month": f"{last:%Y-%m}"}),
        ("/v1/metrics", {"from": "2000-01-01", "to": "2000-01-31"}),
        ("/v1/metrics", {"from": month_ago, "to": last.isoformat()}),
        ("/v1/metrics", {"window": "30d", "as_of": last.isoformat()}),
        ("/v1/metrics", {"fiscal_year": "2000"}),
        ("/v1/metrics/series", {"month": "2000-01", "metric": "discharge_miss_rate"}),
        ("/v1/reports/survey", {"month": "2000-01"}),
        ("/v1/reports/survey", {"month": f"{last:%Y-%m}"}),
        ("/v1/audit", {"since": "2000-01-01T00:00:00+09:00", "until": "2025-06-02T10:00:00Z"}),
    ]:
        r = await api.client.get(path, params=params, headers=admin_headers())
        assert r.status_code == 200, (path, params, r.text)


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/flags", '["0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000000"]'),
        ("/v1/flags", '["9999-12-31T23:59:59-23:59", "00000000-0000-0000-0000-000000000000"]'),
        ("/v1/flags", '["2025-06-02T10:00:00", "00000000-0000-0000-0000-000000000000"]'),
        ("/v1/flags", '["2025-06-02T10:00:00+09:00", "not-a-uuid"]'),
        ("/v1/flags", '["2025-06-02T10:00:00+09:00"]'),
        ("/v1/flags", '[1e400, "00000000-0000-0000-0000-000000000000"]'),
        ("/v1/flags", "12"),
        ("/v1/audit", "1e400"),
        ("/v1/audit", "12345678901234567890123456"),
        ("/v1/audit", "-1"),
        ("/v1/audit", "1.5"),
        ("/v1/audit", "true"),
        ("/v1/audit", '"12"'),
        ("/v1/audit", "NaN"),
        ("/v1/organizations", '"\\ud800"'),
        ("/v1/organizations", '"\\u0000"'),
        ("/v1/organizations", '["H1"]'),
        ("/v1/organizations", "null"),
        ("/v1/organizations", "{"),
    ],
)
async def test_a_forged_cursor_is_400_problem_json(api: Api, path: str, raw: str) -> None:
    r = await api.client.get(path, params={"cursor": _cursor(raw)}, headers=admin_headers())
    problem = assert_problem(r, 400)
    assert problem["detail"] == BAD_CURSOR
    assert ["query", "cursor"] in _locs(problem)


@pytest.mark.parametrize("path", ["/v1/flags", "/v1/audit", "/v1/organizations"])
@pytest.mark.parametrize("cursor", ["\u0000", "%%%", "x" * 5000, "é"])  # "": the first page
async def test_a_cursor_that_is_not_base64_json_is_400(api: Api, path: str, cursor: str) -> None:
    r = await api.client.get(path, params={"cursor": cursor}, headers=admin_headers())
    assert assert_problem(r, 400)["detail"] == BAD_CURSOR


async def test_next_cursor_pages_through_every_list(api: Api) -> None:
    hospital, office, key, _ = await api.parties()
    for _ in range(3):
        body = admission(hospital, unique("P-"), AT, office)
        assert (await api.post(body, key)).status_code == 201
    for path in ("/v1/organizations", "/v1/audit", "/v1/flags"):
        seen: list[Any] = []
        params: dict[str, Any] = {"limit": 2}
        for _ in range(3):
            r = await api.client.get(path, params=params, headers=admin_headers())
            assert r.status_code == 200, (path, r.text)
            page = r.json()
            seen.extend(json.dumps(i, sort_keys=True) for i in page["items"])
            if page["next_cursor"] is None:
                break
            params = {"limit": 2, "cursor": page["next_cursor"]}
        assert len(seen) == len(set(seen)), path
        if path != "/v1/flags":  # flags need the worker; the other two have rows by now
            assert len(seen) >= 4, path
