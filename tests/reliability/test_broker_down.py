"""The broker is a fast path, not the record: with Redis hung or gone, events still get 201."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.harness import (
    Region,
    aggregates_and_rebuild,
    api_server,
    dirty_episodes,
    metrics_total,
    post_all,
    private_redis,
    run_sweep,
    stay,
    stored_event_ids,
)
from tests.services import fresh_database, wait_until, worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
STAYS = 40  # per region; about 5 events each
MAX_LATENCY_S = 5.0
# No answer waits on the broker: the recompute queue sends after it. Before the queue, each
# post here waited ~2 s for its send to give up.
MAX_HUNG_LATENCY_S = 1.5
HUNG_POSTS = 8
DIRTY_GRACE_S = 5.5  # the sweep re-enqueues episodes dirty for longer than 5 s


def _workload(region: Region) -> list[tuple[str, dict[str, object]]]:
    rng = random.Random(20250401)  # the same stays in both regions: their totals must be equal
    return [e for n in range(STAYS) for e in stay(rng, region, n)]


def test_events_are_accepted_while_the_broker_is_down_and_the_sweep_catches_up(
    tmp_path: Path,
) -> None:
    with (
        fresh_database("handover_rel_broker") as database_url,
        private_redis(tmp_path) as redis,
        api_server(database_url, redis.url, tmp_path / "api.log") as api,
        worker_process(database_url, redis.url),
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        control, outage = Region.create(client), Region.create(client)
        post_all(client, control, _workload(control))
        assert wait_until(lambda: dirty_episodes(database_url) == 0, timeout=60), (
            "the worker did not fold the control region with the broker up"
        )
        expected = metrics_total(client, control.region)["total"]

        events = _workload(outage)
        hung: list[float] = []
        redis.freeze()  # accepts connections, never answers: the enqueue must give up by itself
        try:
            acknowledged = post_all(client, outage, events[:HUNG_POSTS], hung)
        finally:
            redis.thaw()
        redis.stop()  # gone: connection refused, and the queue's content is lost with it
        down: list[float] = []
        acknowledged += post_all(client, outage, events[HUNG_POSTS:], down)
        print(f"\nbroker hung: {len(hung)} posts, max {max(hung):.2f} s; "
              f"broker down: {len(down)} posts, max {max(down):.3f} s")  # fmt: skip
        assert max(hung + down) < MAX_LATENCY_S
        assert max(hung) < MAX_HUNG_LATENCY_S, "a post waited on the hung broker"
        assert dirty_episodes(database_url) > 0, "nothing was left for the sweep"

        redis.start()
        time.sleep(DIRTY_GRACE_S)
        started = time.monotonic()
        run_sweep(redis.url)
        assert wait_until(lambda: dirty_episodes(database_url) == 0, timeout=90), (
            "the sweep did not recompute the episodes posted during the outage"
        )
        print(f"sweep caught up {time.monotonic() - started:.1f} s after the broker came back")

        assert set(acknowledged) <= stored_event_ids(database_url)
        got = metrics_total(client, outage.region)
        assert got["stale_episodes"] == 0
        assert got["total"] == expected, "the outage changed the metrics"
        incremental, rebuilt = aggregates_and_rebuild(database_url)
        assert incremental == rebuilt
