"""GET /v1/handovers/pending: each side sees what it has to do, most urgent first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.episodes.recompute import recompute_episode
from shared.rules.zone import TOKYO
from tests.factories import Api, admission, event
from tests.integration.metrics.test_query_plans import captured

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


async def _recompute(api: Api, episode_id: str) -> None:
    """Fold the episode now, as the worker does, so its flags are raised or cleared."""
    sessions = api.client.app.state.sessionmaker  # type: ignore[attr-defined]
    async with sessions() as session, session.begin():
        await recompute_episode(session, uuid.UUID(episode_id), datetime.now(UTC))


async def test_each_item_says_why_it_is_listed_with_names_beside_ids(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key, c_key = await api.key(hospital, "hospital"), await api.key(office, "care_office")
    await api.post(
        admission(hospital, "WHY", _at(-20), office, planned_discharge_date=_date(10)), h_key
    )
    with captured(api.client) as seen:
        r = await api.client.get("/v1/handovers/pending", headers=h_key)
    assert len([s for s, _ in seen if "organizations.name" in s]) == 1  # one lookup per page
    [item] = r.json()["items"]
    assert item["hospital_name"] == f"hospital {hospital}"
    assert (item["care_office_id"], item["care_office_name"]) == (office, f"care_office {office}")
    assert item["reason"] == "coordination_due_before_planned_discharge"
    assert item["detail"] == (
        f"Coordination (退院調整) is due by {_date(3)}, 7 days before the planned discharge "
        f"{_date(10)}"
    )
    office_items = (await api.client.get("/v1/handovers/pending", headers=c_key)).json()["items"]
    assert [(i["kind"], i["reason"]) for i in office_items] == [
        ("admission_info", "admission_info_due_after_admission"),
        ("discharge_planned", "client_discharge_planned"),
    ]
    assert office_items[0]["detail"].startswith(
        f"Admission information (入院時情報提供) is due by {_date(-13)}"
    )
    assert office_items[0]["hospital_name"] == f"hospital {hospital}"


async def test_a_short_planned_stay_is_due_lead_days_before_the_plan_and_overdue_at_once(
    api: Api,
) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    await api.post(
        admission(hospital, "SHORT", _at(-2), office, planned_discharge_date=_date(5)), h_key
    )
    [item] = (await api.client.get("/v1/handovers/pending", headers=h_key)).json()["items"]
    assert (item["kind"], item["due_date"], item["overdue"]) == (
        "discharge_coordination",
        _date(-2),
        True,
    )
    assert item["reason"] == "coordination_due_before_planned_discharge"
    overdue = await api.client.get(
        "/v1/handovers/pending", params={"overdue": "true"}, headers=h_key
    )
    assert [i["encounter_ref"] for i in overdue.json()["items"]] == ["SHORT"]


async def test_pages_follow_the_cursor_through_the_whole_list_in_order(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    expected = []
    for n in range(7):  # two stays share each due date: ties by episode_id keep pages stable
        posted = await api.post(
            admission(
                hospital, f"P-{n}", _at(-20), office, planned_discharge_date=_date(10 + n // 2)
            ),
            h_key,
        )
        expected.append((n // 2, posted.json()["episode_id"], f"P-{n}"))
    await api.post(admission(hospital, "P-NOCM", _at(-1), None), h_key)
    whole = (await api.client.get("/v1/handovers/pending", headers=h_key)).json()
    assert whole["next_cursor"] is None
    assert len(whole["items"]) == 8
    seen, params = [], {"limit": 3}
    while True:
        r = await api.client.get("/v1/handovers/pending", params=params, headers=h_key)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 3
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == whole["items"]
    in_order = [ref for *_, ref in sorted(expected)]
    assert [i["encounter_ref"] for i in seen] == [*in_order, "P-NOCM"]
    bad = await api.client.get("/v1/handovers/pending", params={"cursor": "bm9wZQ"}, headers=h_key)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


async def test_care_office_keeps_a_discharged_stay_while_a_flag_names_it(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key, c_key = await api.key(hospital, "hospital"), await api.key(office, "care_office")
    posted = await api.post(admission(hospital, "GONE", _at(-10), office), h_key)
    episode_id = posted.json()["episode_id"]
    await api.post(
        event("admission_info", hospital, "GONE", _at(-9), care_office_id=office, channel="fax"),
        c_key,
    )
    await api.post(event("discharge", hospital, "GONE", _at(-1), destination="home"), h_key)
    await _recompute(api, episode_id)
    items = (await api.client.get("/v1/handovers/pending", headers=c_key)).json()["items"]
    assert [(i["encounter_ref"], i["kind"], i["reason"], i["overdue"]) for i in items] == [
        ("GONE", "open_flag", "missed_discharge_coordination", True)
    ]
    assert items[0]["flag_id"] is not None
    assert items[0]["detail"].startswith(
        f"Discharged on {_date(-1)} with no discharge coordination"
    )
    late = event(
        "discharge_coordination", hospital, "GONE", _at(-2), to_org_id=office, channel="phone"
    )
    assert (await api.post(late, h_key)).status_code == 201
    await _recompute(api, episode_id)
    assert (await api.client.get("/v1/handovers/pending", headers=c_key)).json()["items"] == []


async def test_patient_fields_the_stay_lacks_are_absent_never_null_or_none(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key, c_key = await api.key(hospital, "hospital"), await api.key(office, "care_office")
    body = admission(hospital, "ID-ONLY", _at(-1), office) | {
        "patient": {"hospital_patient_id": "P-0042"}
    }
    assert (await api.post(body, h_key)).status_code == 201
    r = await api.client.get("/v1/handovers/pending", headers=c_key)
    [item] = r.json()["items"]
    assert item["hospital_patient_id"] == "P-0042"
    assert item["patient"] == {"hospital_patient_id": "P-0042"}
    for absent in ("insurer_number", "insured_number", "display_name"):
        assert absent not in item
    assert "None" not in r.text
