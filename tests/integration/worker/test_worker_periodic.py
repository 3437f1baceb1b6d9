"""The periodic-job guard and the sweep that recovers recomputes the broker lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.worker.scheduler import (
    claim_slot,
    finish_slot,
    minute_slot,
    periodic_slot,
    release_slot,
)
from shared.core.db import create_engine, create_sessionmaker
from shared.queue.broker import get_broker
from shared.queue.enqueue import SWEEP_ACTOR, send
from tests.services import fresh_database, wait_until, worker_process

pytestmark = pytest.mark.postgres
LEASE = timedelta(minutes=5)


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database("handover_test_periodic") as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _claim(engine: AsyncEngine, slot: datetime, owner: str) -> bool:
    async with create_sessionmaker(engine)() as session, session.begin():
        return await claim_slot(session, "sweep", slot, LEASE, owner)


async def test_concurrent_claims_of_the_same_slot_succeed_exactly_once(
    engine: AsyncEngine,
) -> None:
    slot = minute_slot(datetime.now(UTC))
    results = await asyncio.gather(*(_claim(engine, slot, f"scheduler-{i}") for i in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_a_claim_waiting_on_an_uncommitted_claim_of_the_same_slot_fails(
    engine: AsyncEngine,
) -> None:
    slot = minute_slot(datetime.now(UTC))
    factory = create_sessionmaker(engine)
    async with factory() as first:
        assert await claim_slot(first, "sweep", slot, LEASE, "first")
        second = asyncio.create_task(_claim(engine, slot, "second"))
        await asyncio.sleep(0.3)
        assert not second.done(), "the second claim should wait for the first transaction"
        await first.commit()
    assert await second is False


async def test_a_newer_slot_runs_only_once_the_previous_run_finished(engine: AsyncEngine) -> None:
    slot = minute_slot(datetime.now(UTC))
    assert await _claim(engine, slot, "a")
    assert await _claim(engine, slot + timedelta(minutes=1), "b") is False  # still leased
    async with create_sessionmaker(engine)() as session, session.begin():
        await finish_slot(session, "sweep", slot, "a")
    assert await _claim(engine, slot + timedelta(minutes=1), "b")
    assert await _claim(engine, slot, "c") is False  # never back in time


async def _release(engine: AsyncEngine, slot: datetime, owner: str) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        await release_slot(session, "sweep", slot, owner)


async def test_a_released_unfinished_slot_is_claimed_again_and_a_finished_one_is_not(
    engine: AsyncEngine,
) -> None:
    day = minute_slot(datetime.now(UTC)).replace(hour=0, minute=0)
    assert await _claim(engine, day, "a")
    await _release(engine, day, "a")  # the run failed (the broker was down)
    assert await _claim(engine, day, "b"), "a failed run of the same slot is retried"
    assert await _claim(engine, day, "c") is False, "while b holds the lease"
    async with create_sessionmaker(engine)() as session, session.begin():
        await finish_slot(session, "sweep", day, "b")
    assert await _claim(engine, day, "d") is False, "a finished slot never runs again"


async def test_an_unfinished_slot_whose_lease_expired_is_claimed_again(
    engine: AsyncEngine,
) -> None:
    slot = minute_slot(datetime.now(UTC))
    async with create_sessionmaker(engine)() as session, session.begin():
        assert await claim_slot(session, "sweep", slot, timedelta(0), "killed")
    assert await _claim(engine, slot, "next")


async def test_concurrent_claims_of_a_released_slot_succeed_exactly_once(
    engine: AsyncEngine,
) -> None:
    slot = minute_slot(datetime.now(UTC))
    assert await _claim(engine, slot, "failed")
    await _release(engine, slot, "failed")
    results = await asyncio.gather(*(_claim(engine, slot, f"scheduler-{i}") for i in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def _run_in_slot(engine: AsyncEngine, slot: datetime, fail: bool) -> bool:
    """One periodic run of ``slot``; True when its body ran. ``fail`` makes the body raise."""
    ran = False
    async with (
        create_sessionmaker(engine)() as session,
        periodic_slot(session, "deadlines", slot, LEASE, f"worker-{uuid.uuid4()}") as claimed,
    ):
        if claimed:
            ran = True
            if fail:
                raise ConnectionError("broker down")
    return ran


async def test_a_daily_run_that_failed_runs_again_on_the_next_sweep_the_same_day(
    engine: AsyncEngine,
) -> None:
    day = minute_slot(datetime.now(UTC)).replace(hour=0, minute=0)
    with pytest.raises(ConnectionError):
        await _run_in_slot(engine, day, fail=True)
    assert await _run_in_slot(engine, day, fail=False), "retried before the next day"
    assert await _run_in_slot(engine, day, fail=False) is False, "done for the day"
    assert await _run_in_slot(engine, day + timedelta(days=1), fail=False)


def _insert_episode(conn: psycopg.Connection, dirty_since: datetime) -> uuid.UUID:
    episode_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, state, version,"
        " computed_version, dirty_since, has_admission)"
        " VALUES (%s, 'H1', %s, ARRAY['H1'], '{}'::jsonb, 3, 2, %s, true)",
        (episode_id, uuid.uuid4().hex, dirty_since),
    )
    return episode_id


def _episode(database_url: str, episode_id: uuid.UUID) -> tuple[int, datetime | None]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT computed_version, dirty_since FROM episodes WHERE id = %s", (episode_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.mark.slow
def test_sweep_recomputes_episodes_left_dirty_and_records_the_run(database_url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        lost = _insert_episode(conn, now - timedelta(minutes=2))
        just_written = _insert_episode(conn, now + timedelta(minutes=1))
        for control_id, days in (("AGED", 91), ("FRESH", 1)):  # HANDOVER_RAW_MESSAGE_DAYS: 90
            conn.execute(
                "INSERT INTO inbound_messages (id, channel, hospital_id, control_id, trigger,"
                " content_sha256, raw, outcome, event_ids, received_at)"
                " VALUES (%s, 'mllp', 'H1', %s, 'A01', %s, %s, 'stored', '{}', %s)",
                (uuid.uuid4(), control_id, control_id.ljust(64, "0"), b"MSH|^~\\&|",
                 now - timedelta(days=days)),
            )  # fmt: skip
    broker = get_broker(database_url)
    try:
        with worker_process(database_url, database_url):
            send(broker, SWEEP_ACTOR, ())
            assert wait_until(lambda: _episode(database_url, lost) == (3, None), timeout=20)
    finally:
        broker.close()
    assert _episode(database_url, just_written)[1] is not None, "within the grace period"
    with psycopg.connect(database_url) as conn:
        job = conn.execute(
            "SELECT finished_at, locked_until FROM periodic_jobs WHERE name = 'sweep'"
        ).fetchone()
    assert job is not None
    finished_at, locked_until = job
    assert finished_at is not None
    assert locked_until is None
    with psycopg.connect(database_url) as conn:
        kept: dict[str, bool] = dict(
            conn.execute("SELECT control_id, raw IS NOT NULL FROM inbound_messages")
        )
        daily = conn.execute(
            "SELECT finished_at FROM periodic_jobs WHERE name = 'raw_messages'"
        ).fetchone()
    assert kept == {"AGED": False, "FRESH": True}, "the aged message's bytes are blanked"
    assert daily is not None
    assert daily[0] is not None, "the daily purge ran and finished"
