"""The real worker on the real broker: one poisoned episode stalls no one, and is re-run later."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from shared.queue.broker import get_broker
from shared.queue.enqueue import enqueue_recompute
from tests.factories import Api, admin_headers
from tests.poisoned import BAD_INSURED, poison, post_stays, repair
from tests.services import worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # 500 stays through a real worker
RECOMPUTE_MESSAGES = (
    "SELECT count(*) FROM dramatiq.queue WHERE message->>'actor_name' = 'recompute_episodes'"
)


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)
    return True


async def test_a_poisoned_episode_among_500_leaves_the_others_folded_and_no_message_retried(
    api: Api, database_url: str
) -> None:
    hospital, office, h_key, _ = await api.parties()
    ids = await post_stays(api, hospital, office, h_key, 501)  # no worker yet
    bad = ids[123]
    poison(database_url, bad)
    broker = get_broker(database_url)  # the API's own enqueue may time out on a busy machine
    try:
        enqueue_recompute(broker, [uuid.UUID(i) for i in ids])  # 6 messages of <= 100
    finally:
        broker.close()

    async def seen() -> tuple[int, int]:
        r = await api.client.get("/v1/metrics", params={"month": "2024-06"}, headers=h_key)
        return r.json()["total"]["admissions_with_care_manager"], r.json()["stale_episodes"]

    def queued() -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(RECOMPUTE_MESSAGES).fetchone()
        return int(row[0]) if row else 0

    async def listed() -> list[dict[str, object]]:
        r = await api.client.get("/v1/admin/set-aside-episodes", headers=admin_headers())
        assert r.status_code == 200, r.text
        assert BAD_INSURED not in r.text
        return [i for i in r.json()["items"] if i["episode_id"] == bad]

    async def caught_up(count: int, stale: int) -> bool:
        return await seen() == (count, stale) and queued() == 0

    with worker_process(database_url, database_url):
        started = time.monotonic()
        # Every message acked (none waits for a retry) and exactly the poisoned episode stale.
        assert await _until(lambda: caught_up(500, 1)), (await seen(), queued())
        print(f"\n500 of 501 folded, 1 set aside, queue empty {time.monotonic() - started:.1f} s")
        [item] = await listed()
        assert (item["error_type"], item["error_where"]) == (
            "ValidationError",
            "shared.episodes.repository.recorded_columns",
        )
        gauge = [
            line
            for line in (await api.client.get("/metrics")).text.splitlines()
            if line.startswith("handover_episodes_set_aside ")
        ]
        assert gauge
        assert float(gauge[0].split()[1]) >= 1

        repair(database_url, bad)
        r = await api.client.post("/v1/admin/set-aside-episodes:retry", headers=admin_headers())
        assert r.status_code == 200, r.text
        assert bad in r.json()["episode_ids"]
        assert await _until(lambda: caught_up(501, 0), timeout=30), await seen()
        assert await listed() == []
