"""The worker's recompute against the real PostgreSQL: flags raised and cleared, idempotence."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import (
    deadline_episode_batches,
    dirty_episode_batches,
    recompute_episode,
    recompute_episodes,
)
from shared.models import Flag
from tests.factories import Api, admin_headers, admission, event
from tests.integration.operations.test_cli_admin import handover
from tests.poisoned import BAD_INSURED, poison, post_stays, repair
from tests.privacy import CAPTURED

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]


async def _recompute(sessions: Sessions, episode_id: str, now: str) -> None:
    async with sessions() as session, session.begin():
        assert await recompute_episode(session, uuid.UUID(episode_id), datetime.fromisoformat(now))


async def _flags(sessions: Sessions, episode_id: str) -> list[tuple[str, bool]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Flag).where(Flag.episode_id == uuid.UUID(episode_id)).order_by(Flag.raised_at)
        )
        return [(f.kind, f.cleared_at is None) for f in rows]


async def test_discharge_without_prior_coordination_raises_missed_flag_and_late_report_clears_it(
    api: Api, sessions: Sessions
) -> None:
    hospital, office, h_key, _ = await api.parties()
    adm = admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office)
    episode_id = (await api.post(adm, h_key)).json()["episode_id"]
    info = event(
        "admission_info",
        hospital,
        "A-1",
        "2024-06-03T12:00:00+09:00",
        care_office_id=office,
        channel="fax",
    )
    await api.post(info, await api.key(office, "care_office"))
    await api.post(
        event("discharge", hospital, "A-1", "2024-06-20T10:00:00+09:00", destination="home"), h_key
    )
    await _recompute(sessions, episode_id, "2024-06-20T12:00:00+09:00")
    assert await _flags(sessions, episode_id) == [("missed_discharge_coordination", True)]
    coordination = event(
        "discharge_coordination",
        hospital,
        "A-1",
        "2024-06-12T09:00:00+09:00",
        to_org_id=office,
        channel="phone",
    )
    assert (await api.post(coordination, h_key)).status_code == 201
    await _recompute(sessions, episode_id, "2024-06-21T12:00:00+09:00")
    assert await _flags(sessions, episode_id) == [("missed_discharge_coordination", False)]


async def test_recompute_twice_leaves_the_same_rows(api: Api, db: Sessions) -> None:
    hospital, office, h_key, _ = await api.parties()
    episode_id = (
        await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    ).json()["episode_id"]
    await api.post(
        event("discharge", hospital, "A-1", "2024-06-20T10:00:00+09:00", destination="home"), h_key
    )

    async def snapshot() -> list[tuple[Any, ...]]:
        async with db() as session:
            aggregates = await session.execute(
                text("SELECT * FROM daily_aggregates WHERE hospital_id = :h ORDER BY day, side"),
                {"h": hospital},
            )
            flags = await session.execute(
                text("SELECT kind, since, cleared_at FROM flags WHERE hospital_id = :h"),
                {"h": hospital},
            )
            dirty = await session.scalar(
                text("SELECT dirty_since FROM episodes WHERE id = :e"), {"e": uuid.UUID(episode_id)}
            )
            return [*map(tuple, aggregates), (dirty,), *map(tuple, flags)]

    await _recompute(db, episode_id, "2024-06-21T00:00:00+09:00")
    first = await snapshot()
    await _recompute(db, episode_id, "2024-06-21T00:00:00+09:00")
    assert await snapshot() == first
    assert [row[1] for row in first[:2]] == ["admission", "discharge"]
    assert first[2] == (None,)
    assert sorted(row[0] for row in first[3:]) == [
        "admission_info_overdue",
        "missed_discharge_coordination",
    ]


async def test_admission_info_overdue_appears_when_the_clock_passes_the_deadline(
    api: Api, sessions: Sessions
) -> None:
    hospital, office, h_key, c_key = await api.parties()
    episode_id = (
        await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    ).json()["episode_id"]
    await _recompute(sessions, episode_id, "2024-06-10T23:59:00+09:00")  # deadline day: on time
    assert await _flags(sessions, episode_id) == []
    async with sessions() as session:
        at = datetime.fromisoformat("2024-06-10T23:59:00+09:00")
        before = [i async for b in deadline_episode_batches(session, at) for i in b]
        at = datetime.fromisoformat("2024-06-11T00:01:00+09:00")
        due = [i async for b in deadline_episode_batches(session, at) for i in b]
    assert uuid.UUID(episode_id) not in before
    assert uuid.UUID(episode_id) in due
    await _recompute(sessions, episode_id, "2024-06-11T00:01:00+09:00")
    assert await _flags(sessions, episode_id) == [("admission_info_overdue", True)]
    async with sessions() as session:
        flag = await session.scalar(select(Flag).where(Flag.episode_id == uuid.UUID(episode_id)))
        assert flag is not None
        assert flag.party_org_id == office
    info = event(
        "admission_info",
        hospital,
        "A-1",
        "2024-06-12T09:00:00+09:00",
        care_office_id=office,
        channel="fax",
    )
    assert (await api.post(info, c_key)).status_code == 201
    await _recompute(sessions, episode_id, "2024-06-12T10:00:00+09:00")
    assert await _flags(sessions, episode_id) == [("admission_info_overdue", False)]


async def _seen_by(api: Api, key: dict[str, str]) -> tuple[int, int]:
    """What the hospital sees in the survey: admissions counted, and episodes not yet counted."""
    r = await api.client.get("/v1/metrics", params={"month": "2024-06"}, headers=key)
    assert r.status_code == 200, r.text
    return r.json()["total"]["admissions_with_care_manager"], r.json()["stale_episodes"]


async def _listed(api: Api) -> list[dict[str, object]]:
    r = await api.client.get("/v1/admin/set-aside-episodes", headers=admin_headers())
    assert r.status_code == 200, r.text
    assert BAD_INSURED not in r.text
    return list(r.json()["items"])


async def test_a_poisoned_episode_is_set_aside_and_the_500_others_of_its_batch_are_folded(
    api: Api, sessions: Sessions, database_url: str
) -> None:
    hospital, office, h_key, _ = await api.parties()
    ids = await post_stays(api, hospital, office, h_key, 501)
    bad = ids[250]
    poison(database_url, bad)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        folded = await recompute_episodes(session, [uuid.UUID(i) for i in ids], datetime.now(UTC))
    print(f"\n501 episodes, 1 poisoned: {time.perf_counter() - started:.2f} s")
    assert folded == 500
    assert await _seen_by(api, h_key) == (500, 1)  # the poisoned one is stale, not lost
    listed = [i for i in await _listed(api) if i["episode_id"] == bad]
    assert [(i["error_type"], i["error_where"]) for i in listed] == [
        ("ValidationError", "shared.episodes.repository.recorded_columns")
    ]
    async with sessions() as session:  # the sweep leaves it alone: no retry for ever
        swept = [i async for b in dirty_episode_batches(session, datetime.now(UTC)) for i in b]
        assert uuid.UUID(bad) not in swept
    assert not [t for t in CAPTURED if BAD_INSURED in t]  # nor did the logs quote it

    repair(database_url, bad)
    refolded = handover(database_url, "refold-set-aside")
    assert refolded.returncode == 0, refolded.stderr
    assert await _seen_by(api, h_key) == (501, 0)
    assert not [i for i in await _listed(api) if i["episode_id"] == bad]


async def test_a_new_event_makes_a_set_aside_episode_eligible_for_the_sweep_again(
    api: Api, sessions: Sessions, database_url: str
) -> None:
    hospital, office, h_key, _ = await api.parties()
    [bad] = await post_stays(api, hospital, office, h_key, 1)
    poison(database_url, bad)
    async with sessions() as session, session.begin():
        assert await recompute_episodes(session, [uuid.UUID(bad)], datetime.now(UTC)) == 0
    async with sessions() as session, session.begin():  # what ingestion does for a new event
        await session.execute(
            text("UPDATE episodes SET version = version + 1 WHERE id = :e"), {"e": uuid.UUID(bad)}
        )
    async with sessions() as session:
        swept = [i async for b in dirty_episode_batches(session, datetime.now(UTC)) for i in b]
    assert uuid.UUID(bad) in swept
    repair(database_url, bad)
    async with sessions() as session, session.begin():
        assert await recompute_episodes(session, [uuid.UUID(bad)], datetime.now(UTC)) == 1
    assert not [i for i in await _listed(api) if i["episode_id"] == bad]
