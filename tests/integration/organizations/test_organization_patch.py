"""PATCH /v1/organizations/{id} and `handover org update` (api.md, Administration)."""

from __future__ import annotations

import pytest

from tests.factories import Api, admin_headers, unique
from tests.integration.operations.test_cli_admin import handover

pytestmark = pytest.mark.postgres


async def test_an_existing_hospital_is_given_a_real_sending_facility(api: Api) -> None:
    hospital = await api.org("hospital")
    facility = f"GOOD HEALTH {unique('')[:8]}"
    r = await api.client.patch(
        f"/v1/organizations/{hospital}",
        json={"hl7_sending_facility": facility, "medical_area": "南薩"},
        headers=admin_headers(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hl7_sending_facility"] == facility
    assert body["medical_area"] == "南薩"
    assert body["name"] == f"hospital {hospital}"  # a field left out stays
    listed = await api.client.get(
        "/v1/organizations", params={"region": api.region}, headers=admin_headers()
    )
    assert [o["hl7_sending_facility"] for o in listed.json()["items"]] == [facility]
    cleared = await api.client.patch(
        f"/v1/organizations/{hospital}",
        json={"hl7_sending_facility": None},
        headers=admin_headers(),
    )
    assert cleared.json()["hl7_sending_facility"] is None


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"region": "elsewhere"}, "region cannot be changed"),
        ({"id": "X1", "kind": "care_office"}, "id, kind cannot be changed"),
        ({"hl7_sending_facility": "A|B"}, "must not contain the HL7 delimiters"),
        ({"hl7_sending_facility": " GOOD"}, "must not start or end with a space"),
        ({"hl7_sending_facility": "X" * 21}, "at most 20 characters"),
        ({"name": None}, "keeps a name"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
async def test_what_cannot_be_changed_is_a_422_that_says_why(
    api: Api, body: dict[str, object], says: str
) -> None:
    hospital = await api.org("hospital")
    r = await api.client.patch(f"/v1/organizations/{hospital}", json=body, headers=admin_headers())
    assert r.status_code == 422
    assert says in r.text
    after = await api.client.get(
        "/v1/organizations", params={"region": api.region}, headers=admin_headers()
    )
    assert after.json()["items"][0]["region"] == api.region


async def test_a_facility_for_a_care_office_or_taken_by_another_hospital_is_refused(
    api: Api,
) -> None:
    office, first, second = await api.org("care_office"), await api.org("hospital"),\
        await api.org("hospital")  # fmt: skip
    facility = unique("F")
    r = await api.client.patch(
        f"/v1/organizations/{office}", json={"hl7_sending_facility": facility},
        headers=admin_headers(),
    )  # fmt: skip
    assert r.status_code == 422
    assert "only a hospital" in r.json()["detail"]
    ok = await api.client.patch(
        f"/v1/organizations/{first}", json={"hl7_sending_facility": facility},
        headers=admin_headers(),
    )  # fmt: skip
    assert ok.status_code == 200
    taken = await api.client.patch(
        f"/v1/organizations/{second}", json={"hl7_sending_facility": facility},
        headers=admin_headers(),
    )  # fmt: skip
    assert taken.status_code == 409
    assert "already another organization's" in taken.json()["detail"]


async def test_only_an_admin_may_patch_and_an_unknown_id_is_404(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await api.client.patch(f"/v1/organizations/{hospital}", json={"name": "x"}, headers=key)
    assert r.status_code == 403
    r = await api.client.patch(
        f"/v1/organizations/{unique('H')}", json={"name": "x"}, headers=admin_headers()
    )
    assert r.status_code == 404


def test_handover_org_update_sets_and_refuses_like_the_api(database_url: str) -> None:
    org_id = unique("H")
    added = handover(database_url, "org", "add", org_id, "--kind", "hospital", "--name", "病院",
                     "--region", "cli-test")  # fmt: skip
    assert added.returncode == 0, added.stderr
    facility = f"GOOD HEALTH {unique('')[:8]}"
    updated = handover(database_url, "org", "update", org_id, "--hl7-sending-facility", facility)
    assert updated.returncode == 0, updated.stderr
    assert "updated" in updated.stderr
    listed = handover(database_url, "org", "list", "--region", "cli-test")
    assert "GOOD HEALTH" in listed.stdout
    bad = handover(database_url, "org", "update", org_id, "--hl7-sending-facility", "A^B")
    assert bad.returncode == 2
    assert "HL7 delimiters" in bad.stderr
    missing = handover(database_url, "org", "update", unique("H"), "--name", "x")
    assert missing.returncode == 1
    assert "not registered" in missing.stderr
