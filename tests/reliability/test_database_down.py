"""PostgreSQL down: 503 problem+json without internals, /readyz and /metrics say so, recovery.

Uses a private embedded PostgreSQL (the pip wheel's server) so the machine's server is untouched.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from services.api.app import create_app
from shared.core.embedded import EmbeddedPostgres, start_embedded
from shared.core.schema_migrations import upgrade_to_head
from shared.core.settings import Settings
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


def test_database_down_answers_503_and_the_api_recovers_without_restart(
    pg_data_dir: Path, tmp_path: Path
) -> None:
    embedded = start_embedded(pg_data_dir)
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


def _gauges(text: str) -> dict[str, float]:
    """Unlabelled handover_* samples of a Prometheus text page."""
    samples = (line.split() for line in text.splitlines() if line.startswith("handover_"))
    return {s[0]: float(s[1]) for s in samples if len(s) == 2 and "{" not in s[0]}


def test_metrics_say_the_database_is_down_instead_of_repeating_the_last_values(
    pg_data_dir: Path,
) -> None:
    embedded = start_embedded(pg_data_dir)
    try:
        upgrade_to_head(embedded.url)  # runs its own event loop: before ours
        asyncio.run(_scrape_through_an_outage(embedded))
    finally:
        embedded.stop()


async def _scrape_through_an_outage(embedded: EmbeddedPostgres) -> None:
    settings = Settings(database_url=embedded.url, broker_url="redis://127.0.0.1:6379/15")
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        with psycopg.connect(embedded.url) as conn:  # one unfolded episode: stale 1
            conn.execute(
                "INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, state,"
                " version, computed_version, has_admission, dirty_since)"
                " VALUES (gen_random_uuid(), 'H1', 'A-1', '{H1}', '{}', 1, 0, false, now())"
            )
        up = _gauges((await c.get("/metrics")).text)
        assert (up["handover_database_up"], up["handover_stale_episodes"]) == (1, 1)
        assert up["handover_episodes_set_aside"] == 0

        embedded.stop()
        started = time.perf_counter()
        down_page = await c.get("/metrics")
        latency = time.perf_counter() - started
        assert down_page.status_code == 200  # the scrape itself works: it reports the outage
        down = _gauges(down_page.text)
        print(f"\ndatabase down: /metrics answered in {latency:.2f} s, database_up 0")
        assert down["handover_database_up"] == 0
        stale = ("handover_stale_episodes", "handover_recompute_lag_seconds",
                 "handover_episodes_set_aside")  # fmt: skip
        assert all(math.isnan(down[name]) for name in stale), down
        assert latency < 5

        embedded.server.start()
        assert wait_until(lambda: _answers(embedded.url), timeout=30), "the database is gone"
        again = _gauges((await c.get("/metrics")).text)
        assert (again["handover_database_up"], again["handover_stale_episodes"]) == (1, 1)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False
