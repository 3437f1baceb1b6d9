"""A worker killed with SIGKILL mid-recompute loses nothing and counts nothing twice."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.factories import admin_headers
from tests.reliability.harness import (
    Region,
    aggregates_and_rebuild,
    api_server,
    dirty_episodes,
    run_sweep,
    stay,
    stored_event_ids,
)
from tests.services import fresh_database, wait_until, worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
STAYS = 600  # about 3,000 events
POSTERS = 4
STAYS_PER_BATCH = 10  # about 50 events a request
KILL_AFTER = 0.4  # of the stays posted


def _computed(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM episodes WHERE computed_version > 0").fetchone()
        return int(row[0]) if row else 0


def test_a_worker_killed_mid_recompute_catches_up_to_exactly_a_full_rebuild(
    tmp_path: Path,
) -> None:
    with (
        fresh_database("handover_rel_kill") as database_url,
        api_server(database_url, database_url, tmp_path / "api.log") as api,
        httpx.Client(base_url=api.base_url, timeout=30) as setup,
    ):
        region = Region.create(setup, hospitals=4, offices=6)
        rng = random.Random(7)
        stays = [stay(rng, region, n) for n in range(STAYS)]
        posted = dirty_at_kill = 0
        lock = threading.Lock()
        acknowledged: list[str] = []

        def post_stays(part: list[list[tuple[str, dict[str, Any]]]]) -> None:
            """Whole stays in order, BATCH events a request (admin key: any event type)."""
            nonlocal posted
            with httpx.Client(base_url=api.base_url, timeout=60) as client:
                for i in range(0, len(part), STAYS_PER_BATCH):
                    chunk = part[i : i + STAYS_PER_BATCH]
                    bodies = [body for events in chunk for _, body in events]
                    r = client.post("/v1/events:batch", json={"events": bodies},
                                    headers=admin_headers())  # fmt: skip
                    assert r.status_code == 200, r.text[:300]
                    statuses = {item["status"] for item in r.json()["results"]}
                    assert statuses == {"created"}, statuses
                    with lock:
                        acknowledged.extend(b["event_id"] for b in bodies)
                        posted += len(chunk)

        with (
            worker_process(database_url, database_url) as worker,
            ThreadPoolExecutor(POSTERS) as pool,
        ):
            futures = [pool.submit(post_stays, stays[i::POSTERS]) for i in range(POSTERS)]
            started = time.monotonic()

            def busy() -> bool:  # work done and work waiting: the worker is mid-stream
                nonlocal dirty_at_kill
                if posted < STAYS * KILL_AFTER or _computed(database_url) == 0:
                    return False
                dirty_at_kill = dirty_episodes(database_url)
                return dirty_at_kill > 0

            assert wait_until(busy, timeout=120, interval=0.05)
            print(f"\nkill point after {time.monotonic() - started:.1f} s")
            os.killpg(worker.pid, signal.SIGKILL)  # the dramatiq parent and its worker process
            worker.wait()
            killed_at = time.monotonic()
            for future in futures:
                future.result()
            print(f"all posted {time.monotonic() - started:.1f} s after the start")
        total = len(acknowledged)
        left = dirty_episodes(database_url)
        print(f"{total} events posted; worker SIGKILLed with {dirty_at_kill} episode(s) dirty, "
              f"{left} dirty at restart")  # fmt: skip
        assert left > 0

        with worker_process(database_url, database_url):
            time.sleep(5.5)  # the sweep takes episodes dirty for more than 5 s
            run_sweep(database_url)
            assert wait_until(lambda: dirty_episodes(database_url) == 0, timeout=120), (
                "the restarted worker did not catch up"
            )
            print(f"caught up {time.monotonic() - killed_at:.1f} s after the kill")

        assert set(acknowledged) <= stored_event_ids(database_url)
        assert len(stored_event_ids(database_url)) == total
        with psycopg.connect(database_url) as conn:
            behind = conn.execute(
                "SELECT count(*) FROM episodes WHERE computed_version <> version"
            ).fetchone()
        assert behind == (0,)
        incremental, rebuilt = aggregates_and_rebuild(database_url)
        assert incremental["daily_aggregates"], "nothing was aggregated"
        assert incremental == rebuilt, "the incremental aggregates differ from a full rebuild"
