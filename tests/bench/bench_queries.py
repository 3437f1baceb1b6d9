"""4-6: metrics, survey, pending and lookup latency at 10k/100k/1M stays; the full rebuild."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from shared.core.db import create_engine, create_sessionmaker
from shared.episodes.rebuild import rebuild_aggregates
from tests.bench.bench_data import (
    create_key,
    create_organizations,
    generate,
    hospital_id,
    office_id,
)
from tests.bench.bench_harness import (
    ADMIN_TOKEN,
    HttpConnection,
    Server,
    latency_summary,
    median_time,
)

HOSPITALS = 200
OFFICES = 2000
CHUNK = 100_000

# The naive way: every metric recomputed from the event log on each request.
NAIVE = """
WITH per_episode AS (
    SELECT episode_id, hospital_id,
           min(occurred_at) FILTER (WHERE type = 'admission') AS admitted,
           bool_or(type = 'admission' AND body ? 'care_office_id') AS named,
           bool_or(type = 'admission' AND body->>'care_level' NOT IN ('none', 'unknown'))
               AS has_level,
           min(occurred_at) FILTER (WHERE type = 'admission_info') AS info,
           max(occurred_at) FILTER (WHERE type = 'discharge') AS discharged,
           bool_or(type = 'discharge' AND body->>'destination' IN ('other_hospital', 'death'))
               AS excluded,
           min(occurred_at) FILTER (WHERE type IN ('discharge_coordination',
               'discharge_conference', 'no_cm_referral')) AS coordination
    FROM events GROUP BY episode_id, hospital_id
), days AS (
    SELECT *, (admitted AT TIME ZONE 'Asia/Tokyo')::date AS admission_day,
           (discharged AT TIME ZONE 'Asia/Tokyo')::date AS discharge_day,
           (named OR info IS NOT NULL) AS with_cm,
           NOT excluded AND (named OR info < discharged OR has_level OR coordination IS NOT NULL)
               AS eligible
    FROM per_episode
)
SELECT hospital_id,
    count(*) FILTER (WHERE admission_day BETWEEN $1 AND $2 AND with_cm)
        AS admissions_with_care_manager,
    count(*) FILTER (WHERE admission_day BETWEEN $1 AND $2 AND with_cm
        AND (discharged IS NULL OR info < discharged)) AS admission_info_provided,
    count(*) FILTER (WHERE discharge_day BETWEEN $1 AND $2 AND eligible) AS eligible_discharges,
    count(*) FILTER (WHERE discharge_day BETWEEN $1 AND $2 AND eligible
        AND coordination <= discharged) AS coordinated_discharges,
    count(*) FILTER (WHERE discharge_day BETWEEN $1 AND $2 AND eligible
        AND (coordination IS NULL OR coordination > discharged)) AS missed_discharges
FROM days GROUP BY hospital_id
"""
COMPARED = (
    "admissions_with_care_manager",
    "admission_info_provided",
    "eligible_discharges",
    "coordinated_discharges",
    "missed_discharges",
)


def fiscal_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


async def _timed_gets(
    conn: HttpConnection, paths: list[str], token: str, repeat: int
) -> tuple[dict[str, float], Any]:
    await conn.json("GET", paths[0], token=token)  # warm
    samples = []
    body = None
    for i in range(repeat):
        t0 = time.perf_counter()
        body = await conn.json("GET", paths[i % len(paths)], token=token)
        samples.append(time.perf_counter() - t0)
    return latency_summary(samples), body


async def _naive(url: str, start: date, end: date, repeat: int) -> tuple[float, dict[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET work_mem = '64MB'")
        samples = []
        rows = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = await conn.fetch(NAIVE, start, end)
            samples.append(time.perf_counter() - t0)
    finally:
        await conn.close()
    totals = {name: sum(int(r[name]) for r in rows) for name in COMPARED}
    return median_time(samples), totals


async def rebuild(url: str, now: datetime) -> dict[str, Any]:
    engine = create_engine(url, pool_size=1)
    sessions = create_sessionmaker(engine)
    try:
        t0 = time.perf_counter()
        async with sessions() as session, session.begin():
            folded = await rebuild_aggregates(session, now)
        seconds = time.perf_counter() - t0
    finally:
        await engine.dispose()
    async with _connect(url) as conn:
        await conn.execute("VACUUM ANALYZE daily_aggregates")
        await conn.execute("VACUUM ANALYZE episode_contributions")
        await conn.execute("VACUUM ANALYZE monthly_counts")
        await conn.execute("VACUUM ANALYZE monthly_leads")
        aggregates = await conn.fetchval("SELECT count(*) FROM daily_aggregates")
        rollups = await conn.fetchval(
            "SELECT (SELECT count(*) FROM monthly_counts) + (SELECT count(*) FROM monthly_leads)"
        )
    return {
        "episodes": folded,
        "seconds": round(seconds, 1),
        "episodes_per_s": round(folded / seconds, 1),
        "daily_aggregate_rows": aggregates,
        "monthly_rollup_rows": rollups,
    }


class _connect:
    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await asyncpg.connect(self.url)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()


async def grow(url: str, have: int, want: int, now: datetime, log: Any) -> float:
    """Generate stays ``have``..``want``-1 in chunks; returns seconds spent."""
    t0 = time.perf_counter()
    for first in range(have, want, CHUNK):
        last = min(first + CHUNK, want) - 1
        generate(url, first, last, now, HOSPITALS, OFFICES)
        log(f"  generated {last + 1:,} stays ({time.perf_counter() - t0:.0f} s)")
    async with _connect(url) as conn:
        await conn.execute("VACUUM ANALYZE episodes")
        await conn.execute("VACUUM ANALYZE events")
    return time.perf_counter() - t0


async def metrics_at_scale(
    url: str, api: Server, now: datetime, repeat: int, naive_repeat: int
) -> dict[str, Any]:
    """/v1/metrics (fiscal year by hospital) and the June survey, versus the naive SQL."""
    fy = fiscal_year_of(now.date() - timedelta(days=365))
    month = f"{fy}-06"
    conn = HttpConnection(api.port)
    try:
        metrics, body = await _timed_gets(
            conn, [f"/v1/metrics?fiscal_year={fy}&group_by=hospital"], ADMIN_TOKEN, repeat
        )
        survey, _ = await _timed_gets(
            conn, [f"/v1/reports/survey?month={month}&format=json"], ADMIN_TOKEN, repeat
        )
    finally:
        await conn.close()
    naive_fy, naive_totals = await _naive(url, date(fy, 4, 1), date(fy + 1, 3, 31), naive_repeat)
    naive_month, _ = await _naive(url, date(fy, 6, 1), date(fy, 6, 30), naive_repeat)
    api_totals = {name: body["total"][name] for name in COMPARED}
    return {
        "fiscal_year": fy,
        "metrics_fy_by_hospital": metrics,
        "survey_june": survey,
        "naive_fy_ms": round(naive_fy * 1000, 1),
        "naive_june_ms": round(naive_month * 1000, 1),
        "speedup_fy": round(naive_fy * 1000 / metrics["p50_ms"], 1),
        "speedup_june": round(naive_month * 1000 / survey["p50_ms"], 1),
        "naive_matches_api": naive_totals == api_totals,
        "api_totals": api_totals,
        "naive_totals": naive_totals,
    }


PENDING = "/v1/handovers/pending?limit=1000"  # the whole list on one page: items comparable


async def lists_at_scale(api: Server, episodes: int, repeat: int) -> dict[str, Any]:
    """Pending lists (a hospital, a care office) and episode lookups by stay number."""
    conn = HttpConnection(api.port)
    try:
        hospital, office = hospital_id(1), office_id(1)
        hospital_key = await create_key(conn, hospital, "hospital")
        office_key = await create_key(conn, office, "care_office")
        hospital_pending, body = await _timed_gets(conn, [PENDING], hospital_key, repeat)
        hospital_items = len(body["items"])
        office_pending, body = await _timed_gets(conn, [PENDING], office_key, repeat)
        office_items = len(body["items"])
        rng = random.Random(1)
        refs = [f"E{1 + HOSPITALS * rng.randrange(episodes // HOSPITALS - 1)}" for _ in range(50)]
        lookup, _ = await _timed_gets(
            conn,
            [f"/v1/episodes?hospital_id={hospital}&encounter_ref={r}" for r in refs],
            hospital_key,
            repeat * 5,
        )
    finally:
        await conn.close()
    return {
        "hospital_pending": {**hospital_pending, "items": hospital_items},
        "care_office_pending": {**office_pending, "items": office_items},
        "episode_lookup": lookup,
    }


async def lists_before_and_after(
    before: Server, after: Server, episodes: int, repeat: int, log: Any
) -> dict[str, Any]:
    """The lists item against the code before a change and after it, same data, same run:
    two rounds, alternating, so a burst of load on the shared machine hits both."""
    rounds: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for n in range(2):
        for label, api in (("before", before), ("after", after)):
            log(f"  lists, {label} the change, round {n + 1}")
            rounds[label].append(await lists_at_scale(api, episodes, repeat))
    return rounds


async def run(
    url: str,
    api: Server,
    scales: list[int],
    now: datetime,
    quick: bool,
    log: Any,
    before: Server | None = None,
    lists_only: bool = False,
) -> dict[str, Any]:
    """Items 4-6 at each scale; ``lists_only``: item 5 alone (no rebuild, no metrics: the
    lists read the episodes' folded state, which the generator writes)."""
    create_organizations(url, HOSPITALS, OFFICES)
    results: dict[str, Any] = {"scales": [], "generator": "SQL INSERT...SELECT generate_series"}
    have = 0
    for scale in scales:
        log(f"scale {scale:,}: generating events and episodes")
        generated = await grow(url, have, scale, now, log)
        have = scale
        entry: dict[str, Any] = {"episodes": scale, "generate_s": round(generated, 1)}
        if not lists_only:
            log(f"scale {scale:,}: rebuild_aggregates")
            entry["rebuild"] = await rebuild(url, now)
            log(f"  rebuilt in {entry['rebuild']['seconds']} s; measuring queries")
            entry["metrics"] = await metrics_at_scale(
                url, api, now, 10 if quick else 20, 1 if quick else 3
            )
        async with _connect(url) as conn:
            entry["events"] = await conn.fetchval("SELECT count(*) FROM events")
            size = await conn.fetchval("SELECT pg_database_size(current_database())")
            entry["database_mb"] = round(size / 2**20)
        if scale == scales[-1]:
            entry["lists"] = await lists_at_scale(api, scale, 20 if quick else 50)
            if before is not None:
                entry["lists_before_after"] = await lists_before_and_after(
                    before, api, scale, 20 if quick else 50, log
                )
        api.rss()
        results["scales"].append(entry)
    return results
