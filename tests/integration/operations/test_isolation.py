"""The `db` fixture's promise: commits stay inside the test, and vanish when it ends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.models import RuleSetVersion
from tests.factories import unique
from tests.services import rolled_back_sessions

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]


async def _versions(sessions: Sessions, region: str) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(RuleSetVersion).where(RuleSetVersion.region == region)
        )
        return int(found or 0)


async def _store(sessions: Sessions, region: str, effective_from: date) -> None:
    async with sessions() as session, session.begin():
        session.add(RuleSetVersion(region=region, effective_from=effective_from, params={}))


async def test_what_the_code_commits_is_seen_by_the_test_only_and_gone_after_it(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    region = unique("iso-")
    async with rolled_back_sessions(engine) as db:
        await _store(db, region, date(2024, 4, 1))
        assert await _versions(db, region) == 1  # committed, as the code under test sees it
        assert await _versions(sessions, region) == 0  # and no other connection does
    assert await _versions(sessions, region) == 0


async def test_a_rollback_in_the_code_keeps_what_it_committed_before(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    region = unique("iso-")
    async with rolled_back_sessions(engine) as db:
        await _store(db, region, date(2024, 4, 1))
        async with db() as session:
            session.add(RuleSetVersion(region=region, effective_from=date(2024, 5, 1), params={}))
            await session.flush()
            await session.rollback()  # what unit_of_work.run does after a failed statement
        assert await _versions(db, region) == 1
        await _store(db, region, date(2024, 6, 1))  # and the connection is still usable
        assert await _versions(db, region) == 2
    assert await _versions(sessions, region) == 0
