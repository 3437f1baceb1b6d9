"""3: the worker's fold rate in one process, and how fast a burst's stale episodes drain."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.core.db import create_engine, create_sessionmaker
from shared.episodes.recompute import recompute_episodes
from tests.bench.bench_data import hospital_batch, hospital_id
from tests.bench.bench_harness import HttpConnection, Server, worker_server
from tests.bench.bench_ingest import HOSPITALS, Keys

RECOMPUTE_BATCH = 100  # what the API and the sweep send per message


async def fold_rate(url: str, limit: int) -> dict[str, Any]:
    """``recompute_episodes`` over up to ``limit`` dirty episodes, 100 per transaction."""
    conn = await asyncpg.connect(url)
    try:
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM episodes WHERE dirty_since IS NOT NULL ORDER BY id LIMIT $1", limit
            )
        ]
        events = await conn.fetchval(
            "SELECT count(*) FROM events WHERE episode_id = ANY($1::uuid[])", ids
        )
    finally:
        await conn.close()
    engine = create_engine(url, pool_size=2)
    sessions = create_sessionmaker(engine)
    try:
        t0 = time.perf_counter()
        for i in range(0, len(ids), RECOMPUTE_BATCH):
            async with sessions() as session, session.begin():
                await recompute_episodes(session, ids[i : i + RECOMPUTE_BATCH], datetime.now(UTC))
        seconds = time.perf_counter() - t0
    finally:
        await engine.dispose()
    return {
        "episodes": len(ids),
        "events": events,
        "seconds": round(seconds, 2),
        "episodes_per_s": round(len(ids) / seconds, 1) if seconds else 0,
        "events_per_s": round(events / seconds, 1) if seconds else 0,
    }


async def _stale(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM episodes WHERE dirty_since IS NOT NULL"))


async def burst_drain(
    url: str, broker: str, api: Server, keys: Keys, batches: int, now: datetime
) -> dict[str, Any]:
    """Start a worker (1 process, 4 threads), post a burst of batches, time stale → 0."""
    conn = await asyncpg.connect(url)
    http = HttpConnection(api.port)
    try:
        with worker_server(url, broker, processes=1, threads=4) as worker:
            await asyncio.sleep(3)  # boot
            payloads = [
                (
                    hospital_id(b % HOSPITALS),
                    hospital_batch(hospital_id(b % HOSPITALS), f"burst{b}", 1000, now),
                )
                for b in range(batches)
            ]
            t0 = time.perf_counter()
            for hospital, events in payloads:
                status, data = await http.request(
                    "POST", "/v1/events:batch", json.dumps({"events": events}).encode(),
                    keys.hospital[hospital],
                )  # fmt: skip
                if status != 200:
                    raise RuntimeError(f"burst batch -> {status}: {data[:200]!r}")
                worker.rss()
                api.rss()
            posted = time.perf_counter()
            peak = await _stale(conn)
            while (stale := await _stale(conn)) > 0:
                peak = max(peak, stale)
                worker.rss()
                if time.perf_counter() - posted > 600:
                    raise RuntimeError(f"stale episodes did not drain in 600 s ({stale} left)")
                await asyncio.sleep(0.1)
            drained = time.perf_counter()
            worker_rss = worker.peak_rss_mb
    finally:
        await http.close()
        await conn.close()
    episodes = batches * 250
    return {
        "events": batches * 1000,
        "episodes": episodes,
        "post_seconds": round(posted - t0, 2),
        "stale_after_post": peak,
        "drain_after_post_s": round(drained - posted, 2),
        "total_s": round(drained - t0, 2),
        "episodes_per_s_end_to_end": round(episodes / (drained - t0), 1),
        "worker_peak_rss_mb": round(worker_rss, 1),
    }
