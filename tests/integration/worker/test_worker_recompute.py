"""The real worker behind the real API: flags within seconds, and the rebuild actor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import psycopg
import pytest

from shared.queue.broker import get_broker
from shared.queue.enqueue import REBUILD_ACTOR, send
from tests.factories import Api, admission, event
from tests.services import worker_process

pytestmark = pytest.mark.postgres
T = TypeVar("T")


@pytest.fixture
def worker(database_url: str) -> Iterator[None]:
    """A dramatiq worker on the test database's Postgres broker (the app enqueues there)."""
    with worker_process(database_url, database_url):
        yield


async def _eventually(check: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.3)


@pytest.mark.usefixtures("worker")
async def test_missed_coordination_is_flagged_within_seconds_and_cleared_by_a_late_report(
    api: Api,
) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    started = time.monotonic()
    discharge = event("discharge", hospital, "A-1", "2024-06-20T10:00:00+09:00", destination="home")
    assert (await api.post(discharge, h_key)).status_code == 201

    async def missed_open() -> list[dict[str, object]]:
        r = await api.client.get(
            "/v1/flags", params={"kind": "missed_discharge_coordination"}, headers=h_key
        )
        return list(r.json()["items"])

    flags = await _eventually(missed_open)
    assert [f["kind"] for f in flags] == ["missed_discharge_coordination"]
    print(f"\nmissed flag raised {time.monotonic() - started:.1f} s after the discharge was posted")
    assert flags[0]["party_org_id"] == hospital
    late = event("discharge_coordination", hospital, "A-1", "2024-06-13T09:00:00+09:00",
                 to_org_id=office, channel="phone")  # fmt: skip
    assert (await api.post(late, h_key)).status_code == 201

    async def cleared() -> bool:
        return not await missed_open()

    assert await _eventually(cleared)
    r = await api.client.get("/v1/flags", params={"status": "cleared"}, headers=h_key)
    assert [f["cleared_reason"] is not None for f in r.json()["items"]] == [True]


@pytest.mark.usefixtures("worker")
async def test_rebuild_actor_restores_aggregates_from_events(api: Api, database_url: str) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)

    def rows() -> list[tuple[object, ...]]:
        with psycopg.connect(database_url) as conn:
            return conn.execute(
                "SELECT * FROM daily_aggregates WHERE region = %s ORDER BY side", (api.region,)
            ).fetchall()

    async def recomputed() -> bool:
        return len(rows()) == 1

    assert await _eventually(recomputed)
    before = rows()
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM daily_aggregates WHERE region = %s", (api.region,))
    broker = get_broker(database_url)
    try:
        send(broker, REBUILD_ACTOR, ())
    finally:
        broker.close()
    assert await _eventually(recomputed)
    assert rows() == before
