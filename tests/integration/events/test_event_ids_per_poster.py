"""An event_id is unique per posting organization: nobody can occupy, or learn of, another's ids.

And no organization can be registered under the operator's label (`admin`), which the party
rule reads as the operator.
"""

from __future__ import annotations

import pytest

from shared.interop.hl7v2.mapping import event_id as hl7_event_id
from tests.factories import Api, admin_headers, admission, event
from tests.integration.interop.test_hl7v2_http import msa, post
from tests.unit.interop.helpers import adt

pytestmark = pytest.mark.postgres

ADMITTED = "2024-06-03T10:15:00+09:00"


async def test_an_office_posting_first_under_a_hospitals_id_does_not_stop_its_admission(
    api: Api,
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    real = admission(hospital, "A-1", ADMITTED, office)
    squat = event("admission_info", hospital, "A-1", "2024-06-02T09:00:00+09:00",
                  care_office_id=office, channel="fax", event_id=real["event_id"])  # fmt: skip
    assert (await api.post(squat, o_key)).status_code == 201
    r = await api.post(real, h_key)
    assert r.status_code == 201, r.text
    assert r.json()["duplicate"] is False
    episode = await api.client.get(f"/v1/episodes/{r.json()['episode_id']}", headers=h_key)
    assert episode.json()["admitted_at"] == ADMITTED
    posted = sorted((e["posted_by"], e["type"]) for e in episode.json()["events"])
    assert posted == sorted([(hospital, "admission"), (office, "admission_info")])


async def test_reusing_another_organizations_id_answers_as_a_new_id_would(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    other = await api.org("hospital")
    other_key = await api.key(other, "hospital")
    first = admission(hospital, "A-1", ADMITTED, office)
    assert (await api.post(first, h_key)).status_code == 201
    different = admission(other, "B-1", ADMITTED, None, event_id=first["event_id"])
    r = await api.post(different, other_key)
    assert r.status_code == 201, r.text  # not 409: nothing says the id was used elsewhere
    batch = await api.client.post(
        "/v1/events:batch", json={"events": [{**different, "encounter_ref": "B-2"}]},
        headers=other_key,
    )  # fmt: skip
    assert [i["status"] for i in batch.json()["results"]] == ["conflict"]  # its own id, reused


async def test_a_cancel_naming_another_organizations_event_is_an_unknown_event(api: Api) -> None:
    hospital, office, h_key, o_key = await api.parties()
    target = admission(hospital, "A-1", ADMITTED, office)
    assert (await api.post(target, h_key)).status_code == 201
    cancel = event("cancel", hospital, "A-1", "2024-06-04T09:00:00+09:00",
                   cancels_event_id=target["event_id"])  # fmt: skip
    r = await api.post(cancel, o_key)
    unknown = event("cancel", hospital, "A-1", "2024-06-04T09:00:00+09:00",
                    cancels_event_id=event("x", "y", "z", ADMITTED)["event_id"])  # fmt: skip
    never = await api.post(unknown, o_key)
    assert (r.status_code, r.json()["errors"]) == (never.status_code, never.json()["errors"])
    assert r.status_code == 422


async def test_a_squatted_hl7_event_id_leaves_the_hospitals_a01_stored(api: Api) -> None:
    hospital, office, _, o_key = await api.parties()
    h_key = await api.key(hospital, "hospital")
    pv1 = {19: "V-77"}
    derived = hl7_event_id(hospital, "M1", "A01", "V-77")
    squat = event("admission_info", hospital, "V-77", "2024-06-02T09:00:00+09:00",
                  care_office_id=office, channel="fax", event_id=derived)  # fmt: skip
    assert (await api.post(squat, o_key)).status_code == 201
    r = await post(api.client, adt("A01", control_id="M1", pv1_fields=pv1).encode(), h_key)
    assert msa(r.content)[1] == "AA"
    stay = await api.client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": "V-77"}, headers=h_key
    )
    assert [e["event_id"] for e in stay.json()["events"] if e["type"] == "admission"] == [derived]


@pytest.mark.parametrize("org_id", ["admin", "ADMIN", "Admin"])
async def test_no_organization_can_be_registered_as_the_operator(api: Api, org_id: str) -> None:
    body = {"id": org_id, "kind": "care_office", "name": "squatter", "region": api.region}
    r = await api.client.post("/v1/organizations", json=body, headers=admin_headers())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["loc"] == ["body", "id"]
    listed = await api.client.get(
        "/v1/organizations", params={"region": api.region}, headers=admin_headers()
    )
    assert listed.json()["items"] == []
