"""Webhooks end to end: the real API, a real worker, a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.factories import Api, admin_headers, admission, event
from tests.privacy import INSURED_NUMBERS
from tests.services import worker_process
from tests.webhook_receiver import WORKER_ENV, Received, Receiver, eventually, receiver, subscribe

pytestmark = pytest.mark.postgres
PERSONAL = ("insured_number", "insurer_number", "display_name", "hospital_patient_id", "patient")


@pytest.fixture(scope="module")
def worker(database_url: str) -> Iterator[None]:
    """One dramatiq worker for the module, with a fast retry schedule and a 2 s timeout."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in WORKER_ENV.items():
            mp.setenv(name, value)
        with worker_process(database_url, database_url):
            yield


@pytest.fixture(scope="module")
def recv() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def assert_nothing_personal(request: Received) -> None:
    text = request.body.decode() + json.dumps(request.headers)
    assert not any(n in text for n in INSURED_NUMBERS)
    assert not any(f in text for f in PERSONAL)


async def requests_at(recv: Receiver, path: str, count: int) -> list[Received]:
    async def enough() -> list[Received]:
        found = recv.at(path)
        return found if len(found) >= count else []

    return await eventually(enough)


@pytest.mark.usefixtures("worker")
async def test_an_admission_reaches_the_care_office_signed_and_without_personal_data(
    api: Api, recv: Receiver
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    office_hook = await subscribe(api, o_key, recv.url(f"/{office}"), ["episode.admitted"])
    hospital_hook = await subscribe(api, h_key, recv.url(f"/{hospital}"),
                                    ["episode.admitted", "episode.admission_info"])  # fmt: skip
    assert office_hook["secret"].startswith("whsec_")
    posted = admission(hospital, "W-1", "2026-11-30T10:00:00+09:00", office)
    r = await api.post(posted, h_key)
    assert r.status_code == 201
    [got] = await requests_at(recv, f"/{office}", 1)
    body = Webhook(office_hook["secret"]).verify(got.body, got.headers)
    assert body["type"] == "episode.admitted"
    assert body["data"] == {"episode_id": r.json()["episode_id"], "hospital_id": hospital,
                            "encounter_ref": "W-1", "event_id": posted["event_id"],
                            "due_date": "2026-12-07"}  # fmt: skip
    assert got.headers["webhook-id"]
    assert_nothing_personal(got)
    info = event("admission_info", hospital, "W-1", "2026-12-01T10:00:00+09:00",
                 care_office_id=office, channel="fax")  # fmt: skip
    assert (await api.post(info, o_key)).status_code == 201
    [to_hospital] = await requests_at(recv, f"/{hospital}", 1)
    assert (
        Webhook(hospital_hook["secret"]).verify(to_hospital.body, to_hospital.headers)["type"]
        == "episode.admission_info"
    )
    log = await api.client.get(f"/v1/webhooks/{office_hook['id']}/deliveries", headers=o_key)
    [item] = log.json()["items"]
    assert item["id"] == got.headers["webhook-id"]
    assert (item["state"], item["attempts"], item["last_status_code"]) == ("delivered", 1, 204)


@pytest.mark.usefixtures("worker")
async def test_5xx_and_timeouts_are_retried_with_the_same_webhook_id(
    api: Api, recv: Receiver
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    path = f"/{office}"
    recv.script[path] = [500, ("sleep", 3, 200), 429, 200]
    hook = await subscribe(api, o_key, recv.url(path), ["episode.admitted"])
    await api.post(admission(hospital, "W-2", "2026-11-30T10:00:00+09:00", office), h_key)
    tries = await requests_at(recv, path, 4)
    assert len({t.headers["webhook-id"] for t in tries}) == 1
    for t in tries:
        Webhook(hook["secret"]).verify(t.body, t.headers)

    async def delivered() -> dict[str, Any] | None:
        r = await api.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=o_key)
        item: dict[str, Any] = r.json()["items"][0]
        return item if item["state"] == "delivered" else None

    item = await eventually(delivered)
    assert item is not None
    assert item["attempts"] == 4


@pytest.mark.usefixtures("worker")
async def test_410_disables_the_webhook_and_other_4xx_fail_at_once(
    api: Api, recv: Receiver
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    recv.script[f"/{office}/gone"] = [410]
    recv.script[f"/{office}/bad"] = [400]
    gone = await subscribe(api, o_key, recv.url(f"/{office}/gone"), ["episode.admitted"])
    bad = await subscribe(api, o_key, recv.url(f"/{office}/bad"), ["episode.admitted"])
    await api.post(admission(hospital, "W-3", "2026-11-30T10:00:00+09:00", office), h_key)

    async def state_of(hook: dict[str, Any]) -> dict[str, Any] | None:
        r = await api.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=o_key)
        items = r.json()["items"]
        return items[0] if items and items[0]["state"] != "pending" else None

    failed_gone, failed_bad = (
        await eventually(lambda: state_of(gone)),
        await eventually(lambda: state_of(bad)),
    )
    assert failed_gone
    assert failed_gone["state"] == "failed"
    assert failed_gone["last_status_code"] == 410
    assert failed_bad
    assert (failed_bad["state"], failed_bad["attempts"]) == ("failed", 1)
    assert "not retried" in failed_bad["last_error"]
    r = await api.client.get(f"/v1/webhooks/{gone['id']}", headers=o_key)
    assert r.json()["enabled"] is False
    assert "410" in r.json()["disabled_reason"]
    assert (await api.client.get(f"/v1/webhooks/{bad['id']}", headers=o_key)).json()["enabled"]
    # A disabled webhook is sent nothing: ping and retry answer 202 with a delivery failed at once.
    ping = await api.client.post(f"/v1/webhooks/{gone['id']}/ping", headers=o_key)
    retried = await api.client.post(
        f"/v1/webhooks/{gone['id']}/deliveries/{failed_gone['id']}/retry", headers=o_key
    )
    for answer in (ping, retried):
        assert answer.status_code == 202, answer.text
        assert answer.json()["state"] == "failed"
        assert answer.json()["last_error"] == "webhook disabled: " + r.json()["disabled_reason"]
        assert answer.json()["next_attempt_at"] is None
    assert (ping.json()["event_type"], ping.json()["attempts"]) == ("ping", 0)
    assert (retried.json()["id"], retried.json()["attempts"]) == (failed_gone["id"], 1)
    log = await api.client.get(f"/v1/webhooks/{gone['id']}/deliveries", headers=o_key)
    assert {i["state"] for i in log.json()["items"]} == {"failed"}
    await asyncio.sleep(1)  # the worker runs: had either been queued, the receiver would see it
    assert len(recv.at(f"/{office}/gone")) == 1


@pytest.mark.usefixtures("worker")
async def test_after_rotation_both_secrets_sign_a_ping(api: Api, recv: Receiver) -> None:
    _, office, _, o_key = await api.parties()
    hook = await subscribe(api, o_key, recv.url(f"/{office}"), ["flag.raised"])
    r = await api.client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=o_key)
    assert r.status_code == 200
    new_secret = r.json()["secret"]
    assert new_secret != hook["secret"]
    assert (
        "secret" not in (await api.client.get(f"/v1/webhooks/{hook['id']}", headers=o_key)).json()
    )
    ping = await api.client.post(f"/v1/webhooks/{hook['id']}/ping", headers=o_key)
    assert ping.status_code == 202
    assert ping.json()["state"] == "pending"
    [got] = await requests_at(recv, f"/{office}", 1)
    assert got.headers["webhook-id"] == ping.json()["id"]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], new_secret):
        body = Webhook(secret).verify(got.body, got.headers)
        assert (body["type"], body["data"]) == ("ping", {})
    retry = await api.client.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{ping.json()['id']}/retry", headers=o_key
    )
    assert retry.status_code == 202
    again = await requests_at(recv, f"/{office}", 2)
    assert again[1].headers["webhook-id"] == got.headers["webhook-id"]


@pytest.mark.usefixtures("worker")
async def test_a_missed_coordination_flag_reaches_the_hospital_and_the_care_office(
    api: Api, recv: Receiver
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    h_hook = await subscribe(api, h_key, recv.url(f"/{hospital}"), ["flag.raised"])
    await subscribe(api, o_key, recv.url(f"/{office}"), ["flag.raised"])
    await api.post(admission(hospital, "W-5", "2026-11-02T10:00:00+09:00", office), h_key)
    discharge = event("discharge", hospital, "W-5", "2026-11-20T10:00:00+09:00", destination="home")
    assert (await api.post(discharge, h_key)).status_code == 201

    async def kinds(path: str) -> set[str]:
        return {json.loads(r.body)["data"]["flag_kind"] for r in recv.at(path)}

    async def hospital_told() -> bool:
        return "missed_discharge_coordination" in await kinds(f"/{hospital}")

    assert await eventually(hospital_told)
    assert await eventually(lambda: _has(kinds(f"/{office}"), "missed_discharge_coordination"))
    got = next(r for r in recv.at(f"/{hospital}"))
    data = Webhook(h_hook["secret"]).verify(got.body, got.headers)["data"]
    assert data["due_date"] == "2026-11-20"
    assert set(data) == {"episode_id", "hospital_id", "encounter_ref", "flag_id", "flag_kind",
                         "due_date"}  # fmt: skip
    for r in [*recv.at(f"/{hospital}"), *recv.at(f"/{office}")]:
        assert_nothing_personal(r)


async def _has(found: Awaitable[set[str]], kind: str) -> bool:
    return kind in await found


async def test_an_organization_sees_and_changes_only_its_own_webhooks(api: Api) -> None:
    _, office, h_key, o_key = await api.parties()
    mine = await subscribe(api, o_key, "https://hooks.example.jp/a", ["episode.admitted"])
    theirs = await subscribe(api, h_key, "https://hooks.example.jp/b", ["flag.raised"])
    listed = (await api.client.get("/v1/webhooks", headers=o_key)).json()["items"]
    assert [w["id"] for w in listed] == [mine["id"]]
    base = f"/v1/webhooks/{theirs['id']}"
    for method, url, body in [
        ("GET", base, None), ("PATCH", base, {"enabled": False}), ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None), ("POST", f"{base}/ping", None),
        ("GET", f"{base}/deliveries", None),
    ]:  # fmt: skip
        r = await api.client.request(method, url, json=body, headers=o_key)
        assert r.status_code == 404, (method, url, r.text)
    admin = (await api.client.get("/v1/webhooks", headers=admin_headers())).json()["items"]
    assert {mine["id"], theirs["id"]} <= {w["id"] for w in admin}
    r = await api.client.patch(base, json={"description": "by admin"}, headers=admin_headers())
    assert r.status_code == 200
    assert r.json()["description"] == "by admin"
    r = await api.client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.jp/c", "event_types": ["flag.raised"],
              "organization_id": office},
        headers=admin_headers(),
    )  # fmt: skip
    assert r.status_code == 201
    assert r.json()["organization_id"] == office
    assert (await api.client.delete(f"/v1/webhooks/{mine['id']}", headers=o_key)).status_code == 204
    assert (await api.client.get(f"/v1/webhooks/{mine['id']}", headers=o_key)).status_code == 404


async def test_unknown_event_types_are_422_and_bad_cursors_400(api: Api) -> None:
    _, _, _, o_key = await api.parties()
    r = await api.client.post("/v1/webhooks", json={"url": "https://hooks.example.jp/x",
                              "event_types": ["episode.exploded"]}, headers=o_key)  # fmt: skip
    assert r.status_code == 422
    hook = await subscribe(api, o_key, "https://hooks.example.jp/x", ["flag.cleared"])
    for cursor in ("nonsense", "WyIyMDI2LTEyLTAyVDAwOjAwOjAwIiwgIngiXQ"):
        r = await api.client.get(f"/v1/webhooks/{hook['id']}/deliveries",
                                 params={"cursor": cursor}, headers=o_key)  # fmt: skip
        assert r.status_code == 400, r.text
    viewer_org = await api.org("municipality")
    viewer = await api.key(viewer_org, "viewer")
    assert (await api.client.get("/v1/webhooks", headers=viewer)).status_code == 403
