"""A full rebuild from events gives exactly the aggregates the incremental recomputes kept."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.core.db import create_engine, create_sessionmaker
from shared.episodes.rebuild import rebuild_aggregates
from shared.episodes.recompute import recompute_episodes
from shared.models import Episode, EventRecord, Organization
from tests.factories import unique
from tests.services import fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
Sessions = async_sessionmaker[AsyncSession]
EPISODES = int(os.environ.get("REBUILD_TEST_EPISODES", "50000"))
WORKERS = 4
BATCH = 100  # episodes per recompute message, as the sweep sends them
START = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


def _stay(rng: random.Random, hospital: str, offices: list[str], n: int) -> list[dict[str, Any]]:
    """One stay's events in posting order, with late, missing and cancelled ones."""
    ref = f"E-{n}"
    admitted = START + timedelta(days=rng.randrange(300), minutes=rng.randrange(1440))
    office = rng.choice([*offices, None])

    def ev(type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "type": type_, "occurred_at": at.isoformat(),
                "hospital_id": hospital, "encounter_ref": ref, **fields}  # fmt: skip

    admission = ev("admission", admitted, care_office_id=office,
                   care_level=rng.choice(["care_1", "support_2", "none", "unknown", "care_4"]),
                   ward_type=rng.choice(["general", "recovery_rehab", "community_care"]),
                   patient={"insurer_number": rng.choice(["462012", "462039"]),
                            "insured_number": f"{rng.randrange(10**10):010d}"})  # fmt: skip
    events = [admission]
    stay = timedelta(days=rng.randrange(1, 40), hours=rng.randrange(8))
    if office and rng.random() < 0.8:
        events.append(ev("admission_info", admitted + timedelta(days=rng.randrange(12)),
                         care_office_id=office, channel="fax"))  # fmt: skip
    if rng.random() < 0.75:
        lead = timedelta(days=rng.randrange(-3, 14))
        events.append(ev("discharge_coordination", admitted + stay - lead,
                         to_org_id=office or offices[0], channel="phone"))  # fmt: skip
    if rng.random() < 0.85:
        events.append(
            ev(
                "discharge",
                admitted + stay,
                destination=rng.choice(["home", "home", "other_hospital", "death"]),
            )
        )
    if rng.random() < 0.1:
        target = rng.choice(events)
        events.append(ev("cancel", admitted + stay, cancels_event_id=target["event_id"]))
    return events


async def _store(sessions: Sessions, hospital: str, episode_ids: dict[str, uuid.UUID],
                 events: list[dict[str, Any]]) -> set[uuid.UUID]:  # fmt: skip
    """Append events (and their episodes) directly, marking the episodes dirty, as ingest does."""
    touched = set()
    async with sessions() as session, session.begin():
        new = []
        for body in events:
            ref = body["encounter_ref"]
            if ref not in episode_ids:
                episode_ids[ref] = uuid.uuid4()
                new.append({"id": episode_ids[ref], "hospital_id": hospital, "encounter_ref": ref,
                            "party_org_ids": [hospital], "state": {}, "version": 1,
                            "computed_version": 0, "has_admission": False})  # fmt: skip
            touched.add(episode_ids[ref])
        if new:
            await session.execute(insert(Episode), new)
        await session.execute(insert(EventRecord), [
            {"event_id": uuid.UUID(b["event_id"]), "episode_id": episode_ids[b["encounter_ref"]],
             "type": b["type"], "occurred_at": datetime.fromisoformat(b["occurred_at"]),
             "hospital_id": hospital, "poster_org_id": hospital, "poster_key_id": None,
             "cancels_event_id": b.get("cancels_event_id"), "body": b}
            for b in events
        ])  # fmt: skip
    return touched


async def _recompute_all(sessions: Sessions, ids: set[uuid.UUID], now: datetime) -> None:
    """The worker's incremental path, several episodes at a time as real workers would."""
    queue = sorted(ids)

    async def work(part: list[uuid.UUID]) -> None:
        for i in range(0, len(part), BATCH):
            async with sessions() as session, session.begin():
                await recompute_episodes(session, part[i : i + BATCH], now)

    await asyncio.gather(*(work(queue[i::WORKERS]) for i in range(WORKERS)))


async def _snapshot(sessions: Sessions, region: str) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT * FROM daily_aggregates WHERE region = :r ORDER BY 1,2,3,4,5,6,7,8,9,10"),
            {"r": region},
        )
        return [tuple(r) for r in rows]


@pytest.fixture
def database_url() -> Iterator[str]:
    """A database of its own: 50,000 stays would stay in the shared one for every later test."""
    with fresh_database("handover_test_rebuild") as url:
        yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url, pool_size=WORKERS)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.mark.timeout(1800)
async def test_rebuild_from_events_equals_incremental_aggregates(sessions: Sessions) -> None:
    rng = random.Random(20240601)
    region = unique("rb-")
    hospitals = [unique("H") for _ in range(8)]
    offices = [unique("C") for _ in range(40)]
    async with sessions() as session, session.begin():
        await session.execute(insert(Organization), [
            {"id": o, "kind": "hospital" if o in hospitals else "care_office", "name": o,
             "region": region, "medical_area": rng.choice(["鹿児島", "南薩"])}
            for o in hospitals + offices
        ])  # fmt: skip
    stays = [
        (h, _stay(rng, h, offices, n)) for n in range(EPISODES) for h in [rng.choice(hospitals)]
    ]
    now = datetime(2025, 4, 1, tzinfo=UTC)
    ids: dict[str, uuid.UUID] = {}
    started = time.perf_counter()
    recompute_s = 0.0
    for wave in (slice(0, 2), slice(2, None)):  # admissions and info first, the rest arrives later
        touched: set[uuid.UUID] = set()
        for hospital in hospitals:
            batch = [e for h, evs in stays if h == hospital for e in evs[wave]]
            for i in range(0, len(batch), 5000):
                touched |= await _store(sessions, hospital, ids, batch[i : i + 5000])
        t0 = time.perf_counter()
        await _recompute_all(sessions, touched, now)
        recompute_s += time.perf_counter() - t0
    incremental = await _snapshot(sessions, region)
    incremental_s = time.perf_counter() - started
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        folded = await rebuild_aggregates(session, now)
    rebuild_s = time.perf_counter() - started
    rebuilt = await _snapshot(sessions, region)
    print(
        f"\nrebuild test: {EPISODES} episodes, incremental {incremental_s:.1f} s, "
        f"rebuild {rebuild_s:.1f} s ({folded} episodes folded in the database)"
    )
    assert folded >= EPISODES
    assert sum(r[10] for r in incremental if r[1] == "discharge") > 0
    assert rebuilt == incremental
