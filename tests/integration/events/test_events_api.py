"""POST /v1/events and :batch against the real PostgreSQL: every status code of the contract."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import psycopg
import pytest

from shared.events.schemas import BatchOut
from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres

ADMITTED = "2024-06-03T10:15:00+09:00"


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def test_admission_is_stored_and_folded_into_its_episode(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    body = admission(hospital, "A-1", ADMITTED, office, planned_discharge_date="2024-06-20")
    r = await api.post(body, h_key)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["duplicate"] is False
    assert out["event_id"] == body["event_id"]
    episode = (await api.client.get(f"/v1/episodes/{out['episode_id']}", headers=h_key)).json()
    assert instant(episode["admitted_at"]) == instant(ADMITTED)
    assert episode["care_office_id"] == office
    assert episode["planned_discharge_date"] == "2024-06-20"
    assert episode["admission_info_deadline"] == "2024-06-10"
    assert [e["cancelled"] for e in episode["events"]] == [False]


async def test_identical_replay_answers_duplicate_with_the_first_answer(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    body = admission(hospital, "A-1", ADMITTED, office)
    first = await api.post(body, h_key)
    reordered = dict(reversed(list(body.items())))
    again = await api.post(reordered, h_key)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}


async def test_same_event_id_with_other_body_is_a_conflict(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    body = admission(hospital, "A-1", ADMITTED, office)
    assert (await api.post(body, h_key)).status_code == 201
    r = await api.post({**body, "ward_type": "psychiatric"}, h_key)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("change", "loc_part"),
    [
        ({"type": "teleport"}, "type"),
        ({"care_level": "care_6"}, "care_level"),
        ({"patient": {"insurer_number": "462010", "display_name": "山田"}}, "patient"),
        (
            {"patient": {"insurer_number": "46201", "insured_number": "0000123456"}},
            "insurer_number",
        ),
        ({"occurred_at": "2024-06-03T10:15:00"}, "occurred_at"),
        ({"occurred_at": "1999-12-31T10:15:00+09:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00+09:00"}, "occurred_at"),
        ({"care_office_id": "NOSUCHOFFICE"}, "care_office_id"),
        ({"hospital_id": "bad id!"}, "hospital_id"),
    ],
)
async def test_invalid_event_gets_422_naming_the_field_and_stores_nothing(
    api: Api, change: dict[str, object], loc_part: str
) -> None:
    hospital, office, _, _ = await api.parties()
    admin = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
    body = {**admission(hospital, "A-1", ADMITTED, office), **change}
    r = await api.post(body, admin)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["status"] == 422
    assert problem["errors"]
    assert any(loc_part in map(str, e["loc"]) for e in problem["errors"]), problem
    assert "0000123456" not in r.text
    lookup = await api.client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": "A-1"}, headers=admin
    )
    assert lookup.status_code == 404


async def test_discharge_before_admission_is_rejected(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)
    r = await api.post(
        event("discharge", hospital, "A-1", "2024-06-01T10:00:00+09:00", destination="home"), h_key
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "occurred_at"]


async def test_cancel_of_unknown_event_is_422_and_cancel_of_cancel_is_422(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    adm = admission(hospital, "A-1", ADMITTED, office)
    await api.post(adm, h_key)
    unknown = event("cancel", hospital, "A-1", ADMITTED, cancels_event_id=str(uuid.uuid4()))
    assert (await api.post(unknown, h_key)).status_code == 422
    cancel = event("cancel", hospital, "A-1", ADMITTED, cancels_event_id=adm["event_id"])
    assert (await api.post(cancel, h_key)).status_code == 201
    again = event("cancel", hospital, "A-1", ADMITTED, cancels_event_id=cancel["event_id"])
    assert (await api.post(again, h_key)).status_code == 422


async def test_cancel_must_name_the_same_stay(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    adm = admission(hospital, "A-1", ADMITTED, office)
    await api.post(adm, h_key)
    wrong = event("cancel", hospital, "A-2", ADMITTED, cancels_event_id=adm["event_id"])
    assert (await api.post(wrong, h_key)).status_code == 422


async def test_cancelled_admission_stays_stored_but_stops_counting(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    adm = admission(hospital, "A-1", ADMITTED, office)
    episode_id = (await api.post(adm, h_key)).json()["episode_id"]
    await api.post(
        event("cancel", hospital, "A-1", ADMITTED, cancels_event_id=adm["event_id"]), h_key
    )
    episode = (await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)).json()
    assert episode["admitted_at"] is None
    assert [(e["type"], e["cancelled"]) for e in episode["events"]] == [
        ("admission", True),
        ("cancel", False),
    ]


async def test_wrong_party_gets_403_and_nothing_changes(api: Api) -> None:
    hospital, office, h_key, c_key = await api.parties()
    other_hospital = await api.org("hospital")
    other_office = await api.org("care_office")
    other_c_key = await api.key(other_office, "care_office")
    viewer = await api.key(await api.org("municipality"), "viewer")
    await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)
    for body, key in [
        (admission(other_hospital, "B-1", ADMITTED, office), h_key),  # another hospital's stay
        (event("discharge", hospital, "A-1", ADMITTED, destination="home"), c_key),  # hospital-only
        (
            event(
                "admission_info",
                hospital,
                "A-1",
                ADMITTED,
                care_office_id=other_office,
                channel="fax",
            ),
            other_c_key,
        ),  # not a party after the admission is known
        (admission(hospital, "A-9", ADMITTED, office), viewer),
    ]:
        r = await api.post(body, key)
        assert r.status_code == 403, (body["type"], r.text)
    admin = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
    b1 = await api.client.get(
        "/v1/episodes",
        params={"hospital_id": other_hospital, "encounter_ref": "B-1"},
        headers=admin,
    )
    assert b1.status_code == 404


async def test_admission_info_before_the_admission_folds_but_reads_only_once_named(
    api: Api,
) -> None:
    hospital, office, h_key, c_key = await api.parties()
    info = event(
        "admission_info",
        hospital,
        "A-1",
        "2024-06-03T15:00:00+09:00",
        care_office_id=office,
        channel="ict",
    )
    assert (await api.post(info, c_key)).status_code == 201
    r = await api.post(admission(hospital, "A-1", ADMITTED, None), h_key)
    url = f"/v1/episodes/{r.json()['episode_id']}"
    episode = (await api.client.get(url, headers=h_key)).json()
    assert instant(episode["admission_info_at"]) == instant("2024-06-03T15:00:00+09:00")
    assert episode["admission_info_on_time"] is True
    assert episode["care_office_id"] is None  # giving information makes no office responsible
    assert (await api.client.get(url, headers=c_key)).status_code == 404  # posting: no party
    assign = event("care_assignment", hospital, "A-1", ADMITTED, care_office_id=office)
    assert (await api.post(assign, h_key)).status_code == 201  # the hospital names it
    named = await api.client.get(url, headers=c_key)
    assert named.status_code == 200
    assert named.json()["care_office_id"] == office


async def test_fifty_concurrent_identical_posts_store_one_event(
    api: Api, database_url: str
) -> None:
    hospital, office, h_key, _ = await api.parties()
    body = admission(hospital, "A-1", ADMITTED, office)
    answers = await asyncio.gather(*(api.post(body, h_key) for _ in range(50)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 49 + [201]
    assert len({a.json()["episode_id"] for a in answers}) == 1
    with psycopg.connect(database_url) as conn:
        count = conn.execute(
            "SELECT count(*) FROM events WHERE event_id = %s", (body["event_id"],)
        ).fetchone()
    assert count == (1,)


async def test_batch_reports_each_item_in_order_and_keeps_the_valid_ones(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    adm = admission(hospital, "A-1", ADMITTED, office)
    bad = {
        **event("discharge", hospital, "A-1", "2024-06-10T10:00:00+09:00"),
        "destination": "moon",
    }
    foreign = admission(await api.org("hospital"), "X-1", ADMITTED, office)
    dis = event("discharge", hospital, "A-1", "2024-06-10T10:00:00+09:00", destination="home")
    r = await api.client.post(
        "/v1/events:batch",
        json={"events": [adm, adm, bad, foreign, dis, {**adm, "ward_type": "other"}]},
        headers=h_key,
    )
    assert r.status_code == 200, r.text
    results = BatchOut.model_validate(r.json()).results  # the documented shape, item by item
    statuses = [x.status for x in results]
    assert statuses == ["created", "duplicate", "invalid", "forbidden", "created", "conflict"]
    assert results[1].episode_id == results[0].episode_id == results[4].episode_id
    errors = results[2].errors
    assert errors is not None
    assert errors == [{"loc": ["body", "destination"], "msg": errors[0]["msg"]}]
    assert results[3].episode_id is None
    assert results[3].error
    episode = (
        await api.client.get(f"/v1/episodes/{r.json()['results'][0]['episode_id']}", headers=h_key)
    ).json()
    assert instant(episode["discharged_at"]) == instant("2024-06-10T10:00:00+09:00")
    assert episode["missed"] is True


async def test_episode_is_hidden_from_non_parties_and_viewers(api: Api) -> None:
    hospital, office, h_key, c_key = await api.parties()
    episode_id = (await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)).json()[
        "episode_id"
    ]
    assert (await api.client.get(f"/v1/episodes/{episode_id}", headers=c_key)).status_code == 200
    stranger = await api.key(await api.org("care_office"), "care_office")
    other_h = await api.key(await api.org("hospital"), "hospital")
    viewer = await api.key(await api.org("municipality"), "viewer")
    assert (await api.client.get(f"/v1/episodes/{episode_id}", headers=stranger)).status_code == 404
    assert (await api.client.get(f"/v1/episodes/{episode_id}", headers=other_h)).status_code == 404
    assert (await api.client.get(f"/v1/episodes/{episode_id}", headers=viewer)).status_code == 403
    assert (await api.client.get(f"/v1/episodes/{episode_id}")).status_code == 401
