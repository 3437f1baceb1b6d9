"""What the access log costs the answers that write it, and how its reads scale.

``python -m tests.bench.bench_access_log [--rows N]``: on a scratch database, the app in process
(ASGI, as the tests run it), a hospital with 100 stays in its work list. It times
``GET /v1/episodes/{id}`` (one row) and ``GET /v1/handovers/pending?limit=100`` (100 rows) with
the logging as shipped, with one row per answer, and with none, then fills the log with N
rows (default 1,000,000) over 200 organizations and times a page of one organization, a page of
one episode, and the whole CSV of one organization.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import httpx
import psycopg

from services.api.app import create_app
from shared.access.access_log import record_reads
from shared.core.settings import Settings, to_psycopg_url
from shared.rules.zone import TOKYO
from tests.factories import ADMIN_TOKEN, Api, admin_headers, admission
from tests.services import fresh_database

USERS = ("shared.episodes.view", "shared.episodes.work_lists", "shared.episodes.flag_service")


async def _median_ms(call: Callable[[], Awaitable[httpx.Response]], n: int) -> float:
    return statistics.median(await _samples(call, n))


async def _samples(call: Callable[[], Awaitable[httpx.Response]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        r = await call()
        samples.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    return samples


@contextlib.contextmanager
def _logging(mode: str) -> Iterator[None]:
    """As shipped (``rows``), one row per answer whatever it shows (``one_row``: the cost of a
    durable commit, which the audit row of a read paid before), or nothing (``off``)."""

    async def one_row(session: Any, principal: Any, episode_ids: Any, **kw: Any) -> None:
        await record_reads(session, principal, list(episode_ids)[:1], **kw)

    async def nothing(*_args: Any, **_kwargs: Any) -> None:
        return None

    with contextlib.ExitStack() as stack:
        if mode != "rows":
            for module in USERS:
                replacement = one_row if mode == "one_row" else nothing
                stack.enter_context(mock.patch(f"{module}.record_reads", replacement))
        yield


def _fill(url: str, rows: int) -> None:
    """N rows over 200 organizations and 50,000 episodes, a year of them, as SQL."""
    with psycopg.connect(to_psycopg_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO access_log (at, actor_type, actor_id, organization_id, episode_id, path,"
            " address) SELECT now() - (i %% 525600) * interval '1 minute', 'api_key',"
            " gen_random_uuid(), 'BENCH' || (i %% 200), ('00000000-0000-0000-0000-'"
            " || lpad((i %% 50000)::text, 12, '0'))::uuid, '/v1/handovers/pending', '10.0.0.1'"
            " FROM generate_series(1, %s) AS i",
            (rows,),
        )
        conn.execute("ANALYZE access_log")


async def run(url: str, rows: int) -> dict[str, float]:
    settings = Settings(database_url=url, broker_url=url, admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    out: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            api = Api(client)
            hospital, office = await api.org("hospital"), await api.org("care_office")
            key = await api.key(hospital, "hospital")
            soon = (datetime.now(UTC).astimezone(TOKYO) + timedelta(days=3)).date().isoformat()
            at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
            stays = [
                (await api.post(admission(hospital, f"B-{n}", at, office,
                                          planned_discharge_date=soon), key)).json()["episode_id"]
                for n in range(100)
            ]  # fmt: skip

            def episode() -> Awaitable[httpx.Response]:
                return client.get(f"/v1/episodes/{stays[0]}", headers=key)

            def pending() -> Awaitable[httpx.Response]:
                return client.get("/v1/handovers/pending", params={"limit": 100}, headers=key)

            assert len((await pending()).json()["items"]) == 100
            await _samples(episode, 20)  # warm up
            timed: dict[str, list[float]] = {}
            for _ in range(6):  # interleaved, so a busy neighbour weighs on both alike
                for label in ("rows", "one_row", "off"):
                    with _logging(label):
                        timed.setdefault(f"episode_{label}_ms", []).extend(
                            await _samples(episode, 50)
                        )
                        timed.setdefault(f"pending_100_{label}_ms", []).extend(
                            await _samples(pending, 10)
                        )
            out |= {name: statistics.median(values) for name, values in timed.items()}
            _fill(url, rows)

            def log(**params: str) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: client.get("/v1/access-log", params=params, headers=admin_headers())

            out["log_page_by_org_ms"] = await _median_ms(log(organization_id="BENCH7"), 30)
            out["log_page_by_episode_ms"] = await _median_ms(
                log(episode_id="00000000-0000-0000-0000-000000000007"), 30
            )
            start = time.perf_counter()
            csv = await log(organization_id="BENCH7", format="csv")()
            out["csv_one_org_s"] = time.perf_counter() - start
            out["csv_one_org_rows"] = csv.text.count("\r\n") - 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    with fresh_database("handover_bench_access_log") as url:
        for name, value in asyncio.run(run(url, rows)).items():
            print(f"{name:28} {value:10.1f}")


if __name__ == "__main__":
    main()
