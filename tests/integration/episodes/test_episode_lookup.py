"""GET /v1/episodes?encounter_ref=: a hospital finds its own stay without naming itself."""

from __future__ import annotations

import pytest

from tests.factories import Api, admin_headers, admission

pytestmark = pytest.mark.postgres


async def test_a_hospital_key_finds_its_stay_by_number_alone(api: Api) -> None:
    hospital, office, hospital_key, _ = await api.parties()
    posted = await api.post(admission(hospital, "A-100", "2024-06-03T10:00:00+09:00", office),
                            hospital_key)  # fmt: skip
    assert posted.status_code == 201, posted.text
    r = await api.client.get("/v1/episodes", params={"encounter_ref": "A-100"},
                             headers=hospital_key)  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["hospital_id"], r.json()["encounter_ref"]) == (hospital, "A-100")
    named = await api.client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": "A-100"},
        headers=hospital_key,
    )  # fmt: skip
    assert named.json()["episode_id"] == r.json()["episode_id"]


@pytest.mark.parametrize("who", ["office", "admin"])
async def test_other_keys_must_name_the_hospital(api: Api, who: str) -> None:
    _, _, _, office_key = await api.parties()
    headers = office_key if who == "office" else admin_headers()
    r = await api.client.get("/v1/episodes", params={"encounter_ref": "A-100"}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert ["query", "hospital_id"] in [e["loc"] for e in r.json()["errors"]]
