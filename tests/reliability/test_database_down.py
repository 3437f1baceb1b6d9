"""PostgreSQL down: 503 problem+json without internals, /readyz fails, recovery needs no restart.

Uses a private embedded PostgreSQL (the pip wheel's server) so the machine's server is untouched.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from shared.embedded import start_embedded
from shared.schema_migrations import upgrade_to_head
from tests.reliability.harness import Region, api_server, post_all, private_redis, stay
from tests.services import wait_until

pytestmark = [pytest.mark.embedded, pytest.mark.redis, pytest.mark.slow]
INTERNALS = ("Traceback", "sqlalchemy", "asyncpg", "psycopg", "SELECT", "INSERT", 'File "')


def _assert_unavailable_problem(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == 503
    assert not [word for word in INTERNALS if word in response.text], response.text


def test_database_down_answers_503_and_the_api_recovers_without_restart(tmp_path: Path) -> None:
    embedded = start_embedded(tmp_path / "data")
    try:
        upgrade_to_head(embedded.url)
        with (
            private_redis(tmp_path) as redis,
            api_server(embedded.url, redis.url, tmp_path / "api.log") as api,
            httpx.Client(base_url=api.base_url, timeout=30) as client,
        ):
            assert wait_until(lambda: client.get("/readyz").status_code == 200, timeout=30)
            region = Region.create(client)
            rng = random.Random(3)
            events = [e for n in range(10) for e in stay(rng, region, n)]
            acknowledged = post_all(client, region, events[:-1])

            embedded.stop()
            poster, body = events[-1]
            started = time.perf_counter()
            down = client.post("/v1/events", json=body, headers=region.keys[poster])
            latency = time.perf_counter() - started
            _assert_unavailable_problem(down)
            _assert_unavailable_problem(client.get("/readyz"))
            _assert_unavailable_problem(
                client.get("/v1/organizations", headers=region.keys[region.hospitals[0]])
            )
            print(f"\ndatabase down: POST /v1/events answered 503 in {latency:.2f} s")
            assert latency < 5

            embedded.server.start()  # the same data directory, the same socket
            started = time.perf_counter()
            assert wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60)
            print(f"API ready again {time.perf_counter() - started:.1f} s after the restart")
            again = client.post("/v1/events", json=body, headers=region.keys[poster])
            assert again.status_code == 201, again.text
            acknowledged.append(body["event_id"])
            assert api.proc.poll() is None, "the API process was restarted"

        with psycopg.connect(embedded.url) as conn:
            stored = {str(r[0]) for r in conn.execute("SELECT event_id FROM events")}
        assert set(acknowledged) <= stored
        assert len(stored) == len(acknowledged)
    finally:
        embedded.stop()
