"""A rebuild sets aside an episode whose fold raises, as the worker does, and counts the rest."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.core.db import create_engine, create_sessionmaker
from shared.episodes.rebuild import rebuild_aggregates
from shared.episodes.set_aside import list_set_aside
from shared.models import Episode, EventRecord, Organization
from tests.factories import admission
from tests.poisoned import BAD_INSURED, poison
from tests.services import fresh_database

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]
STAYS = 40
NOW = datetime(2024, 7, 1, tzinfo=UTC)


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database("handover_test_rebuild_set_aside") as url:
        yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _admit(sessions: Sessions, n: int) -> list[uuid.UUID]:
    """``n`` stays of one hospital, each with one admission naming a care office."""
    bodies = [admission("H1", f"E-{i}", "2024-06-03T10:00:00+09:00", "C1") for i in range(n)]
    ids = [uuid.uuid4() for _ in bodies]
    async with sessions() as session, session.begin():
        await session.execute(insert(Organization), [
            {"id": org, "kind": kind, "name": org, "region": "r1", "medical_area": "鹿児島"}
            for org, kind in (("H1", "hospital"), ("C1", "care_office"))
        ])  # fmt: skip
        await session.execute(insert(Episode), [
            {"id": i, "hospital_id": "H1", "encounter_ref": b["encounter_ref"],
             "party_org_ids": ["H1", "C1"], "state": {}, "version": 1, "computed_version": 0,
             "has_admission": True}
            for i, b in zip(ids, bodies, strict=True)
        ])  # fmt: skip
        await session.execute(insert(EventRecord), [
            {"event_id": uuid.UUID(b["event_id"]), "episode_id": i, "type": "admission",
             "occurred_at": datetime.fromisoformat(b["occurred_at"]), "hospital_id": "H1",
             "poster_org_id": "H1", "poster_key_id": None, "body": b}
            for i, b in zip(ids, bodies, strict=True)
        ])  # fmt: skip
    return ids


async def _admissions_counted(sessions: Sessions) -> int:
    async with sessions() as session:
        counted = await session.scalar(
            text("SELECT sum(admissions_with_care_manager) FROM daily_aggregates")
        )
    return int(counted or 0)


async def test_a_rebuild_sets_the_poisoned_episode_aside_and_counts_the_others(
    sessions: Sessions, database_url: str
) -> None:
    ids = await _admit(sessions, STAYS)
    bad = ids[17]
    poison(database_url, str(bad))
    reports: list[tuple[int, int]] = []
    async with sessions() as session, session.begin():
        folded = await rebuild_aggregates(session, NOW, lambda *p: reports.append(p))
    assert folded == STAYS - 1
    assert reports[-1] == (STAYS, STAYS), "progress still covers every episode"
    assert await _admissions_counted(sessions) == STAYS - 1
    async with sessions() as session:
        [item] = await list_set_aside(session, 10)
    assert item.episode_id == bad
    assert (item.error_type, item.error_where) == (
        "ValidationError",
        "shared.episodes.repository.recorded_columns",
    )
    assert BAD_INSURED not in repr(item)
