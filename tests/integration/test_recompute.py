"""The worker's recompute against the real PostgreSQL: flags raised and cleared, idempotence."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Flag
from shared.recompute import deadline_episode_batches, recompute_episode
from tests.factories import Api, admission, event

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


async def test_recompute_twice_leaves_the_same_rows(api: Api, sessions: Sessions) -> None:
    hospital, office, h_key, _ = await api.parties()
    episode_id = (
        await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    ).json()["episode_id"]
    await api.post(
        event("discharge", hospital, "A-1", "2024-06-20T10:00:00+09:00", destination="home"), h_key
    )

    async def snapshot() -> list[tuple[object, ...]]:
        async with sessions() as session:
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

    await _recompute(sessions, episode_id, "2024-06-21T00:00:00+09:00")
    first = await snapshot()
    await _recompute(sessions, episode_id, "2024-06-21T00:00:00+09:00")
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
