"""Ingestion answers in api.md's order: authorization, then validation, then idempotency."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres

ADMITTED = "2024-06-03T10:15:00+09:00"
LATER = "2024-06-04T09:00:00+09:00"


async def _batch(api: Api, bodies: list[dict[str, Any]], key: dict[str, str]) -> list[str]:
    r = await api.client.post("/v1/events:batch", json={"events": bodies}, headers=key)
    assert r.status_code == 200, r.text
    return [item["status"] for item in r.json()["results"]]


async def test_a_non_party_replaying_another_offices_event_is_forbidden_not_a_duplicate(
    api: Api,
) -> None:
    hospital, office, h_key, c_key = await api.parties()
    outsider = await api.key(await api.org("care_office"), "care_office")
    assert (await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)).status_code == 201
    assign = event("care_assignment", hospital, "A-1", LATER, care_office_id=office)
    assert (await api.post(assign, c_key)).status_code == 201
    withdraw = event("cancel", hospital, "A-1", LATER, cancels_event_id=assign["event_id"])
    assert (await api.post(withdraw, c_key)).status_code == 201
    for body in (assign, withdraw):
        r = await api.post(body, outsider)
        assert r.status_code == 403, (body["type"], r.text)
        assert "duplicate" not in r.json()
    assert await _batch(api, [assign, withdraw], outsider) == ["forbidden", "forbidden"]
    assert (await api.post(assign, c_key)).json()["duplicate"] is True  # the party: a replay


async def test_an_office_that_may_no_longer_post_gets_403_for_its_own_replay(api: Api) -> None:
    hospital, named, h_key, _ = await api.parties()
    early = await api.org("care_office")
    e_key = await api.key(early, "care_office")
    info = event("admission_info", hospital, "A-1", ADMITTED, care_office_id=early, channel="fax")
    assert (await api.post(info, e_key)).status_code == 201  # before the admission: allowed
    assert (await api.post(admission(hospital, "A-1", ADMITTED, named), h_key)).status_code == 201
    again = event("admission_info", hospital, "A-1", LATER, care_office_id=early, channel="ict")
    assert (await api.post(info, e_key)).status_code == 403  # posting made it no party
    assert (await api.post(again, e_key)).status_code == 403
    assert await _batch(api, [info, again], e_key) == ["forbidden", "forbidden"]


async def test_reusing_an_event_id_with_an_unknown_organization_is_422_not_409(api: Api) -> None:
    hospital, office, h_key, c_key = await api.parties()
    assert (await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)).status_code == 201
    info = event("admission_info", hospital, "A-1", LATER, care_office_id=office, channel="fax")
    assert (await api.post(info, c_key)).status_code == 201
    reused = {**info, "type": "care_assignment", "care_office_id": "C-NOBODY"}
    del reused["channel"]
    r = await api.post(reused, c_key)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "care_office_id"]
    other_body = {**info, "channel": "ict"}
    assert (await api.post(other_body, c_key)).status_code == 409  # valid: then idempotency
    assert await _batch(api, [reused, other_body, info], c_key) == [
        "invalid", "conflict", "duplicate",
    ]  # fmt: skip


async def test_a_replay_of_a_cancel_is_still_a_duplicate_for_its_poster(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    first = admission(hospital, "A-1", ADMITTED, office)
    assert (await api.post(first, h_key)).status_code == 201
    undo = event("cancel", hospital, "A-1", LATER, cancels_event_id=first["event_id"])
    assert (await api.post(undo, h_key)).status_code == 201
    assert (await api.post(undo, h_key)).json()["duplicate"] is True
