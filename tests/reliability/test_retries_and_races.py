"""Retries after a timeout, concurrent duplicates and conflicting replays store one event only."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

import shared.events.ingestion
from shared.events.repository import lock_episodes
from tests.factories import Api, admission, event
from tests.reliability.harness import Region, api_server

pytestmark = pytest.mark.postgres
AT = "2025-06-02T10:00:00+09:00"
CONCURRENT = 20


def _stored(database_url: str, event_ids: list[str]) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE event_id = ANY(%s)",
            ([uuid.UUID(i) for i in event_ids],),
        ).fetchone()
    return int(row[0]) if row else 0


async def _parties(api: Api) -> tuple[str, str, dict[str, str]]:
    hospital = await api.org("hospital")
    office = await api.org("care_office")
    return hospital, office, await api.key(hospital, "hospital")


@pytest.mark.slow
def test_a_client_that_times_out_and_retries_stores_the_event_once(
    database_url: str, tmp_path: Path
) -> None:
    with (
        api_server(database_url, database_url, tmp_path / "api.log") as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        region = Region.create(client, hospitals=1, offices=1)
        hospital, office = region.hospitals[0], region.offices[0]
        headers = region.keys[hospital]
        answers = []
        for n in range(10):
            body = admission(hospital, f"T-{n}", AT, office)
            # The request is sent in full, then the client gives up before the answer arrives.
            impatient = httpx.Timeout(5.0, read=0.0005)
            with pytest.raises(httpx.TimeoutException):
                client.post("/v1/events", json=body, headers=headers, timeout=impatient)
            retry = client.post("/v1/events", json=body, headers=headers)
            replay = client.post("/v1/events", json=body, headers=headers)
            assert retry.status_code in (200, 201), retry.text
            assert retry.json()["duplicate"] is (retry.status_code == 200)
            assert replay.status_code == 200, replay.text
            assert replay.json()["duplicate"] is True
            assert replay.json()["episode_id"] == retry.json()["episode_id"]
            assert _stored(database_url, [body["event_id"]]) == 1
            answers.append(retry.status_code)
        print(f"\nretries after a timeout: {answers.count(200)} duplicate, {answers.count(201)} "
              "created (the retry overtook the first try)")  # fmt: skip


async def test_concurrent_posts_of_one_event_create_it_once(api: Api, database_url: str) -> None:
    hospital, office, headers = await _parties(api)
    body = admission(hospital, "R-1", AT, office)
    answers = await asyncio.gather(*(api.post(body, headers) for _ in range(CONCURRENT)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * (CONCURRENT - 1) + [201], codes
    assert {r.json()["episode_id"] for r in answers} == {answers[0].json()["episode_id"]}
    assert all(r.json()["duplicate"] is (r.status_code == 200) for r in answers)
    assert _stored(database_url, [body["event_id"]]) == 1


async def test_one_event_id_with_different_bodies_in_a_race_creates_one_and_conflicts_the_rest(
    api: Api, database_url: str
) -> None:
    hospital, office, headers = await _parties(api)
    event_id = str(uuid.uuid4())
    bodies = [{**admission(hospital, f"X-{n}", AT, office), "event_id": event_id}
              for n in range(CONCURRENT)]  # fmt: skip
    answers = await asyncio.gather(*(api.post(b, headers) for b in bodies))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * (CONCURRENT - 1), codes
    for r in answers:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
    assert _stored(database_url, [event_id]) == 1
    winner = next(b for b, r in zip(bodies, answers, strict=True) if r.status_code == 201)
    with psycopg.connect(database_url) as conn:
        refs = conn.execute(
            "SELECT encounter_ref FROM episodes WHERE hospital_id = %s", (hospital,)
        ).fetchall()
    assert refs == [(winner["encounter_ref"],)], "a losing body left an episode behind"


async def test_a_batch_posted_twice_is_all_duplicate_the_second_time(
    api: Api, database_url: str
) -> None:
    hospital, office, headers = await _parties(api)
    office_key = await api.key(office, "care_office")
    events: list[dict[str, Any]] = []
    for n in range(20):
        ref = f"B-{n}"
        events.append(admission(hospital, ref, AT, office))
        events.append(event("discharge_planned", hospital, ref, AT,
                            planned_discharge_date="2025-06-20"))  # fmt: skip
    first = await api.client.post("/v1/events:batch", json={"events": events}, headers=headers)
    second = await api.client.post("/v1/events:batch", json={"events": events}, headers=headers)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert [r["status"] for r in first.json()["results"]] == ["created"] * len(events)
    assert [r["status"] for r in second.json()["results"]] == ["duplicate"] * len(events)
    assert [r["episode_id"] for r in second.json()["results"]] == [
        r["episode_id"] for r in first.json()["results"]
    ]
    # Concurrently, the same batch from two clients: every event is stored once.
    info = [event("admission_info", hospital, f"B-{n}", AT, care_office_id=office,
                  channel="fax") for n in range(20)]  # fmt: skip
    answers = await asyncio.gather(*(
        api.client.post("/v1/events:batch", json={"events": info}, headers=office_key)
        for _ in range(4)
    ))  # fmt: skip
    statuses = [item["status"] for r in answers for item in r.json()["results"]]
    assert statuses.count("created") == len(info)
    assert statuses.count("duplicate") == 3 * len(info)
    ids = [e["event_id"] for e in events + info]
    assert _stored(database_url, ids) == len(ids)


class _Deadlock(Exception):
    sqlstate = "40P01"  # what asyncpg reports when PostgreSQL aborts a deadlocked transaction


def _deadlocking(times: int, real: Any) -> Any:
    """lock_episodes that fails like a deadlock victim `times` times, then does its real work."""
    calls = {"n": 0}

    async def lock_episodes(session: Any, keys: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise DBAPIError("INSERT INTO episodes …", None, _Deadlock("deadlock detected"))
        return await real(session, keys)

    return lock_episodes


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events:batch"])
async def test_a_deadlock_victim_is_run_again_and_stored_once(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    hospital, office, h_key = await _parties(api)
    body = admission(hospital, "DL-1", AT, office)
    monkeypatch.setattr(shared.events.ingestion, "lock_episodes", _deadlocking(2, lock_episodes))
    payload = body if path == "/v1/events" else {"events": [body]}
    r = await api.client.post(path, json=payload, headers=h_key)
    assert r.status_code in (200, 201), r.text
    if path == "/v1/events:batch":
        assert r.json()["results"][0]["status"] == "created"
    assert _stored(database_url, [body["event_id"]]) == 1


async def test_a_transaction_that_keeps_deadlocking_is_a_503_and_stores_nothing(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hospital, office, h_key = await _parties(api)
    body = admission(hospital, "DL-2", AT, office)
    monkeypatch.setattr(shared.events.ingestion, "lock_episodes", _deadlocking(99, lock_episodes))
    r = await api.post(body, h_key)
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert _stored(database_url, [body["event_id"]]) == 0
    monkeypatch.undo()
    assert (await api.post(body, h_key)).status_code == 201  # the client's retry succeeds
