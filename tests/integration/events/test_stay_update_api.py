"""stay_update, hospital_patient_id and organizations' hl7_sending_facility over the real API.

What a hospital information system's feed needs (issue 13): an admission known only by the
hospital's patient ID, the MSW's later stay update with the care level and 介護保険 numbers, and a
sending facility that names the hospital on the MLLP listener.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import recompute_episode
from shared.organizations.reference import ReferenceData, hospital_for_sending_facility
from tests.factories import Api, admin_headers, admission, event, patient, unique
from tests.integration.operations.test_cli_admin import handover

pytestmark = pytest.mark.postgres

Sessions = async_sessionmaker[AsyncSession]
ADMITTED = "2024-06-03T10:15:00+09:00"
DISCHARGED = "2024-06-20T11:00:00+09:00"


async def _episode(api: Api, episode_id: str, key: dict[str, str]) -> dict[str, Any]:
    r = await api.client.get(f"/v1/episodes/{episode_id}", headers=key)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _recompute(sessions: Sessions, episode_id: str) -> None:
    async with sessions() as session, session.begin():
        now = datetime.fromisoformat("2024-07-01T12:00:00+09:00")
        assert await recompute_episode(session, uuid.UUID(episode_id), now)


async def _bands(api: Api, hospital: str) -> dict[str, tuple[int, int]]:
    """care_level_band → (admissions with a care manager, eligible discharges) in June 2024."""
    r = await api.client.get(
        "/v1/metrics",
        params={"month": "2024-06", "group_by": "care_level_band", "hospital_id": hospital},
        headers=admin_headers(),
    )
    assert r.status_code == 200, r.text
    return {
        g["key"]["care_level_band"]: (g["admissions_with_care_manager"], g["eligible_discharges"])
        for g in r.json()["groups"]
    }


async def test_stay_update_changes_the_episode_and_moves_it_between_care_level_bands(
    api: Api, sessions: Sessions
) -> None:
    hospital, office, h_key, _ = await api.parties()
    adm = {**admission(hospital, "A-1", ADMITTED, office), "care_level": "support_1"}
    episode_id = (await api.post(adm, h_key)).json()["episode_id"]
    await api.post(event("discharge", hospital, "A-1", DISCHARGED, destination="home"), h_key)
    await _recompute(sessions, episode_id)
    assert await _bands(api, hospital) == {"support": (1, 1)}

    update = event(
        "stay_update",
        hospital,
        "A-1",
        "2024-06-05T09:00:00+09:00",
        patient={"insurer_number": "462039", "display_name": "山田　花子"},
        care_level="care_3",
        ward_type="recovery_rehab",
    )
    r = await api.post(update, h_key)
    assert r.status_code == 201, r.text
    assert r.json()["episode_id"] == episode_id
    episode = await _episode(api, episode_id, h_key)
    assert (episode["care_level"], episode["ward_type"]) == ("care_3", "recovery_rehab")
    assert episode["patient"]["insurer_number"] == "462039"
    assert episode["patient"]["display_name"] == "山田　花子"
    assert episode["patient"]["insured_number"] == adm["patient"]["insured_number"]  # kept
    assert [e["type"] for e in episode["events"]] == ["admission", "discharge", "stay_update"]

    await _recompute(sessions, episode_id)
    assert await _bands(api, hospital) == {"care": (1, 1)}


async def test_a_cancelled_stay_update_stops_counting(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    episode_id = (await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)).json()[
        "episode_id"
    ]
    update = event("stay_update", hospital, "A-1", "2024-06-05T09:00:00+09:00", care_level="none")
    assert (await api.post(update, h_key)).status_code == 201
    assert (await _episode(api, episode_id, h_key))["care_level"] == "none"
    cancel = event(
        "cancel",
        hospital,
        "A-1",
        "2024-06-05T10:00:00+09:00",
        cancels_event_id=update["event_id"],
    )
    assert (await api.post(cancel, h_key)).status_code == 201
    episode = await _episode(api, episode_id, h_key)
    assert episode["care_level"] == "care_2"
    assert [e["cancelled"] for e in episode["events"] if e["type"] == "stay_update"] == [True]


async def test_admission_with_only_the_hospital_patient_id_is_stored(api: Api) -> None:
    hospital, _, h_key, _ = await api.parties()
    body = event("admission", hospital, "A-1", ADMITTED, patient={"hospital_patient_id": "P-001"})
    r = await api.post(body, h_key)
    assert r.status_code == 201, r.text
    episode = await _episode(api, r.json()["episode_id"], h_key)
    assert episode["patient"]["hospital_patient_id"] == "P-001"
    assert episode["patient"]["insured_number"] is None
    assert (episode["care_level"], episode["ward_type"]) == ("unknown", None)


async def test_admission_with_neither_insured_number_nor_patient_id_is_422(api: Api) -> None:
    hospital, _, h_key, _ = await api.parties()
    body = event("admission", hospital, "A-1", ADMITTED, patient={"insurer_number": "462010"})
    r = await api.post(body, h_key)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "patient"]]


async def test_stay_update_that_sets_nothing_is_422(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)
    r = await api.post(event("stay_update", hospital, "A-1", ADMITTED, patient={}), h_key)
    assert r.status_code == 422, r.text


async def test_a_care_office_may_not_post_a_stay_update(api: Api) -> None:
    hospital, office, h_key, c_key = await api.parties()
    await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)
    update = event(
        "stay_update", hospital, "A-1", "2024-06-05T09:00:00+09:00", patient=patient("0000777777")
    )
    r = await api.post(update, c_key)
    assert r.status_code == 403, r.text
    assert "stay_update" in r.json()["detail"]


async def _add(api: Api, kind: str, **fields: Any) -> Any:
    body = {"id": unique("O"), "kind": kind, "name": "x", "region": api.region, **fields}
    return await api.client.post("/v1/organizations", json=body, headers=admin_headers())


async def test_hl7_sending_facility_is_stored_listed_and_found(
    api: Api, sessions: Sessions
) -> None:
    facility = unique("F.")
    r = await _add(api, "hospital", hl7_sending_facility=facility)
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["hl7_sending_facility"] == facility
    again = await api.client.post("/v1/organizations", json=org, headers=admin_headers())
    assert again.status_code == 200
    async with sessions() as session:
        found = await hospital_for_sending_facility(session, facility)
        assert found is not None
        assert (found.id, found.kind, found.region) == (org["id"], "hospital", api.region)
        assert await hospital_for_sending_facility(session, facility.lower()) is None
        cache = ReferenceData()
        assert await cache.hospital_for_sending_facility(session, facility) == found
        assert await cache.hospital_for_sending_facility(session, "NOPE") is None


async def test_a_duplicate_hl7_sending_facility_is_409_saying_why(api: Api) -> None:
    facility = unique("F-")
    assert (await _add(api, "hospital", hl7_sending_facility=facility)).status_code == 201
    r = await _add(api, "hospital", hl7_sending_facility=facility)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "hl7_sending_facility" in r.json()["detail"]
    assert "already" in r.json()["detail"]


@pytest.mark.parametrize("kind", ["care_office", "support_center", "municipality"])
async def test_hl7_sending_facility_on_an_organization_that_is_not_a_hospital_is_422(
    api: Api, kind: str
) -> None:
    r = await _add(api, kind, hl7_sending_facility=unique("F"))
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "hl7_sending_facility"]]


@pytest.mark.parametrize(
    "facility", ["", "x" * 21, "HOSP^A", "A|B", "A~B", "A\\B", "A&B", " HOSP", "HOSP ", "A\x00B"]
)
async def test_hl7_sending_facility_out_of_format_is_422(api: Api, facility: str) -> None:
    r = await _add(api, "hospital", hl7_sending_facility=facility)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("prefix", ["GOOD HEALTH ", "病院 ", "4610000001-"])
async def test_real_msh_4_values_are_registered(api: Api, prefix: str) -> None:
    # api.md: 1-20 printable characters without the HL7 delimiters, as real feeds send them.
    facility = (prefix + unique(""))[:20]
    r = await _add(api, "hospital", hl7_sending_facility=facility)
    assert r.status_code == 201, r.text
    assert r.json()["hl7_sending_facility"] == facility


def test_cli_registers_a_sending_facility_and_refuses_a_taken_one(database_url: str) -> None:
    facility = unique("CLI_")
    args = ("--kind", "hospital", "--name", "病院", "--region", "cli-test")
    first = handover(database_url, "org", "add", unique("H"), *args,
                     "--hl7-sending-facility", facility)  # fmt: skip
    assert first.returncode == 0, first.stderr
    taken = handover(database_url, "org", "add", unique("H"), *args,
                     "--hl7-sending-facility", facility)  # fmt: skip
    assert taken.returncode == 1
    assert "hl7_sending_facility" in taken.stderr
    listed = handover(database_url, "org", "list", "--region", "cli-test")
    assert facility[:8] in listed.stdout  # rich shortens cells to the terminal width
