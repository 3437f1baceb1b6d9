"""1-3: single-event and batch ingestion through the API against raw asyncpg, and the worker."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from shared.episodes.repository import state_json
from shared.rules.events import EVENT_ADAPTER, RecordedEvent
from shared.rules.fold import fold
from tests.bench.bench_data import (
    Step,
    create_key,
    episode_rows,
    hospital_batch,
    hospital_id,
    office_id,
    stay,
)
from tests.bench.bench_harness import HttpConnection, Server, closed_loop, fixed_rate

HOSPITALS = 20
OFFICES = 100
RAW_POOL_MAX = 20  # the API's engine: pool_size 10 + max_overflow 10

UPSERT_EPISODE = """
INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, state, version,
                      computed_version, has_admission)
VALUES ($1, $2, $3, ARRAY[$2::varchar], '{}', 1, 0, false)
ON CONFLICT (hospital_id, encounter_ref)
DO UPDATE SET version = episodes.version + 1, updated_at = now()
RETURNING id
"""
INSERT_EVENT = """
INSERT INTO events (event_id, episode_id, type, occurred_at, hospital_id, poster_org_id, body)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (poster_org_id, event_id) DO NOTHING
"""
UPDATE_EPISODE = """
UPDATE episodes SET state = $2, care_office_id = $3, has_admission = true,
       admitted_at = $4, dirty_since = coalesce(dirty_since, now())
WHERE id = $1
"""


class Keys:
    """One hospital key per hospital, one care-office key per office (created via the API)."""

    def __init__(self) -> None:
        self.hospital: dict[str, str] = {}
        self.office: dict[str, str] = {}

    async def create(self, port: int) -> None:
        conn = HttpConnection(port)
        try:
            for i in range(HOSPITALS):
                self.hospital[hospital_id(i)] = await create_key(conn, hospital_id(i), "hospital")
            for i in range(OFFICES):
                self.office[office_id(i)] = await create_key(conn, office_id(i), "care_office")
        finally:
            await conn.close()


class Stays:
    """Endless distinct stays for one client loop: (hospital, office, steps)."""

    def __init__(self, prefix: str, loop: int, now: datetime) -> None:
        self.prefix, self.loop, self.now, self.n = prefix, loop, now, 0

    def next(self) -> tuple[str, str, list[Step]]:
        n = self.n
        self.n += 1
        hospital = hospital_id((self.loop + n) % HOSPITALS)
        office = office_id((self.loop * 7 + n) % OFFICES)
        ref = f"{self.prefix}-{self.loop}-{n}"
        return hospital, office, stay(hospital, office, ref, n, self.now)


def _event_steps(prefix: str, loop: int, now: datetime) -> Callable[[], tuple[str, str, Step]]:
    """Successive events of successive stays: (hospital, office, step)."""
    stays = Stays(prefix, loop, now)
    current: list[tuple[str, str, Step]] = []

    def following() -> tuple[str, str, Step]:
        if not current:
            hospital, office, steps = stays.next()
            current.extend((hospital, office, s) for s in reversed(steps))
        return current.pop()

    return following


def api_poster(port: int, keys: Keys, prefix: str, now: datetime) -> Callable[[int], Any]:
    """A factory of client loops posting one event per request, each loop on its own socket."""
    connections: list[HttpConnection] = []

    def make(i: int) -> Callable[[], Awaitable[None]]:
        conn = HttpConnection(port)
        connections.append(conn)
        following = _event_steps(prefix, i, now)

        async def post() -> None:
            hospital, office, step = following()
            token = keys.hospital[hospital] if step.poster == "hospital" else keys.office[office]
            status, body = await conn.request("POST", "/v1/events", step.encoded(), token)
            if status != 201:
                raise RuntimeError(f"POST /v1/events -> {status}: {body[:300]!r}")

        return post

    make.connections = connections  # type: ignore[attr-defined]
    return make


def typical_state(now: datetime) -> str:
    """The JSON of a real fold of a whole stay: what the raw loop writes as the state."""
    steps = stay(hospital_id(0), office_id(0), "state", 0, now)
    records = [
        RecordedEvent(EVENT_ADAPTER.validate_python(s.body), i, "x") for i, s in enumerate(steps)
    ]
    return json.dumps(state_json(fold(records, [], now)))


def raw_poster(pool: asyncpg.Pool, prefix: str, now: datetime) -> Callable[[int], Any]:
    """The same database work without the service: upsert episode, insert event, update state."""
    state = typical_state(now)

    def make(i: int) -> Callable[[], Awaitable[None]]:
        following = _event_steps(prefix, i, now)

        async def post() -> None:
            hospital, office, step = following()
            body = step.body
            occurred = datetime.fromisoformat(body["occurred_at"])
            poster = hospital if step.poster == "hospital" else office
            async with pool.acquire() as conn, conn.transaction():
                episode = await conn.fetchval(
                    UPSERT_EPISODE, uuid.uuid4(), hospital, body["encounter_ref"]
                )
                await conn.execute(
                    INSERT_EVENT,
                    uuid.UUID(body["event_id"]),
                    episode,
                    body["type"],
                    occurred,
                    hospital,
                    poster,
                    json.dumps(body),
                )
                await conn.execute(UPDATE_EPISODE, episode, state, office, occurred)

        return post

    return make


async def single_events(
    url: str, api: Server, concurrencies: list[int], seconds: float, now: datetime, tag: str = ""
) -> dict[str, Any]:
    """Closed-loop throughput and latency, API versus raw asyncpg, at each concurrency."""
    keys = Keys()
    await keys.create(api.port)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=RAW_POOL_MAX)
    rows = []
    try:
        for c in concurrencies:
            make_api = api_poster(api.port, keys, f"api{tag}{c}", now)
            api_stats = await closed_loop(c, seconds, make_api)
            api.rss()
            for conn in make_api.connections:  # type: ignore[attr-defined]
                await conn.close()
            raw_stats = await closed_loop(c, seconds, raw_poster(pool, f"raw{tag}{c}", now))
            ratio = api_stats["ops_per_s"] / raw_stats["ops_per_s"] if raw_stats["ops_per_s"] else 0
            rows.append(
                {"concurrency": c, "api": api_stats, "raw": raw_stats, "ratio": round(ratio, 3)}
            )
        # The fixed-rate run: 200 req/s offered, latency from the scheduled start.
        make_api = api_poster(api.port, keys, f"rate{tag}", now)
        conns = [make_api(i) for i in range(64)]

        def operation(_i: int) -> Callable[[Any], Awaitable[None]]:
            async def run(post: Callable[[], Awaitable[None]]) -> None:
                await post()

            return run

        rate = await fixed_rate(200, seconds * 2, 64, operation, conns)
        for conn in make_api.connections:  # type: ignore[attr-defined]
            await conn.close()
    finally:
        await pool.close()
    return {"closed_loop": rows, "fixed_rate_200": rate, "keys": keys}


async def batches(
    url: str, api: Server, keys: Keys, count: int, concurrency: int, now: datetime, tag: str = ""
) -> dict[str, Any]:
    """POST /v1/events:batch (1000 hospital events each) versus a raw COPY of the same rows."""
    payloads = [
        (
            hospital_id(b % HOSPITALS),
            hospital_batch(hospital_id(b % HOSPITALS), f"batch{tag}{b}", 1000, now),
        )
        for b in range(count)
    ]
    queue = list(enumerate(payloads))
    per_batch: list[float] = []

    async def client() -> None:
        conn = HttpConnection(api.port)
        try:
            while queue:
                _, (hospital, events) = queue.pop(0)
                body = json.dumps({"events": events}).encode()
                t0 = time.perf_counter()
                status, data = await conn.request(
                    "POST", "/v1/events:batch", body, keys.hospital[hospital]
                )
                per_batch.append(time.perf_counter() - t0)
                results = json.loads(data)["results"] if status == 200 else []
                if status != 200 or any(r["status"] != "created" for r in results):
                    raise RuntimeError(f"batch -> {status}: {data[:300]!r}")
                api.rss()
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    api_seconds = time.perf_counter() - t0
    api_rate = count * 1000 / api_seconds

    copy_seconds = await _copy_same_rows(url, count, now, tag)
    copy_rate = count * 1000 / copy_seconds
    return {
        "batches": count,
        "concurrency": concurrency,
        "api_events_per_s": round(api_rate, 1),
        "api_batch_p50_s": round(sorted(per_batch)[len(per_batch) // 2], 3),
        "copy_events_per_s": round(copy_rate, 1),
        "ratio": round(api_rate / copy_rate, 4),
    }


async def _copy_same_rows(url: str, count: int, now: datetime, tag: str) -> float:
    """COPY the same shape of rows (episodes, then events), one transaction per 1000 events."""
    conn = await asyncpg.connect(url)
    try:
        elapsed = 0.0
        for b in range(count):
            hospital = hospital_id(b % HOSPITALS)
            events = hospital_batch(hospital, f"copy{tag}{b}", 1000, now)
            episodes = list(episode_rows(events))
            ids = {(h, r): i for i, h, r in episodes}
            episode_records = [(i, h, r, [h], "{}", 1, 0, False) for i, h, r in episodes]
            event_records = [
                (
                    uuid.UUID(e["event_id"]),
                    ids[(e["hospital_id"], e["encounter_ref"])],
                    e["type"],
                    datetime.fromisoformat(e["occurred_at"]),
                    e["hospital_id"],
                    e["hospital_id"],
                    json.dumps(e),
                )
                for e in events
            ]
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "episodes",
                    records=episode_records,
                    columns=[
                        "id",
                        "hospital_id",
                        "encounter_ref",
                        "party_org_ids",
                        "state",
                        "version",
                        "computed_version",
                        "has_admission",
                    ],
                )
                await conn.copy_records_to_table(
                    "events",
                    records=event_records,
                    columns=[
                        "event_id",
                        "episode_id",
                        "type",
                        "occurred_at",
                        "hospital_id",
                        "poster_org_id",
                        "body",
                    ],
                )
            elapsed += time.perf_counter() - t0
        return elapsed
    finally:
        await conn.close()
