"""GET /v1/handovers/pending: each side sees what it has to do, most urgent first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.rules.calendar import TOKYO
from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres


def _at(days: int, hour: int = 10) -> str:
    """A local timestamp ``days`` from today (the work list is judged against today)."""
    today = (
        datetime.now(UTC).astimezone(TOKYO).replace(hour=hour, minute=0, second=0, microsecond=0)
    )
    return (today + timedelta(days=days)).isoformat()


def _date(days: int) -> str:
    return (datetime.now(UTC).astimezone(TOKYO) + timedelta(days=days)).date().isoformat()


async def test_care_office_sees_owed_admission_info_and_planned_discharges(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key, c_key = await api.key(hospital, "hospital"), await api.key(office, "care_office")
    await api.post(admission(hospital, "OLD", _at(-10), office), h_key)  # deadline passed
    await api.post(
        admission(hospital, "NEW", _at(-1), office, planned_discharge_date=_date(5)), h_key
    )
    await api.post(admission(hospital, "DONE", _at(-2), office), h_key)
    await api.post(
        event("admission_info", hospital, "DONE", _at(-1), care_office_id=office, channel="fax"),
        c_key,
    )
    await api.post(admission(hospital, "OTHER", _at(-1), await api.org("care_office")), h_key)
    r = await api.client.get("/v1/handovers/pending", headers=c_key)
    assert r.status_code == 200
    items = [
        (i["encounter_ref"], i["kind"], i["due_date"], i["overdue"]) for i in r.json()["items"]
    ]
    assert items == [
        ("OLD", "admission_info", _date(-3), True),
        ("NEW", "discharge_planned", _date(5), False),
        ("NEW", "admission_info", _date(6), False),
    ]
    assert r.json()["items"][0]["patient"]["insured_number"] == "0000123456"
    overdue = await api.client.get(
        "/v1/handovers/pending", params={"overdue": "true"}, headers=c_key
    )
    assert [i["encounter_ref"] for i in overdue.json()["items"]] == ["OLD"]
    planned = await api.client.get(
        "/v1/handovers/pending", params={"kind": "discharge_planned"}, headers=c_key
    )
    assert [i["coordination_received"] for i in planned.json()["items"]] == [False]


async def test_hospital_sees_owed_coordination_and_patients_without_an_office(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    await api.post(
        admission(hospital, "SOON", _at(-20), office, planned_discharge_date=_date(3)), h_key
    )
    await api.post(
        admission(hospital, "LATER", _at(-2), office, planned_discharge_date=_date(30)), h_key
    )
    await api.post(admission(hospital, "NOCM", _at(-1), None), h_key)
    await api.post(
        admission(hospital, "HANDLED", _at(-5), office, planned_discharge_date=_date(2)), h_key
    )
    await api.post(
        event(
            "discharge_coordination",
            hospital,
            "HANDLED",
            _at(-1),
            to_org_id=office,
            channel="phone",
        ),
        h_key,
    )
    items = (await api.client.get("/v1/handovers/pending", headers=h_key)).json()["items"]
    got = [(i["encounter_ref"], i["kind"], i["due_date"], i["overdue"]) for i in items]
    assert got == [
        ("SOON", "discharge_coordination", _date(-4), True),
        ("LATER", "discharge_coordination", _date(23), False),
        ("NOCM", "care_office_unknown", None, False),
    ]


async def test_viewers_and_admins_have_no_work_list(api: Api) -> None:
    viewer = await api.key(await api.org("municipality"), "viewer")
    r = await api.client.get("/v1/handovers/pending", headers=viewer)
    assert r.status_code == 403
    bad = await api.client.get(
        "/v1/handovers/pending",
        params={"kind": "nonsense"},
        headers=await api.key(await api.org("hospital"), "hospital"),
    )
    assert bad.status_code == 422
