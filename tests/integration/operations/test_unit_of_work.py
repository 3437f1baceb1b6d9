"""The one write path: commit once, roll back a refusal, retry a transient conflict, and hand
the queued jobs to the broker only after the commit (issue 20)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.core import unit_of_work
from shared.core.unit_of_work import Jobs
from shared.models import RuleSetVersion
from tests.factories import unique
from tests.services import rolled_back_sessions

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]


class Deadlock(Exception):
    sqlstate = "40P01"


@pytest.fixture
async def bound(engine: AsyncEngine) -> AsyncIterator[tuple[Sessions, list[Jobs]]]:
    """Rolled-back sessions whose committed jobs are kept in a list instead of sent."""
    handed: list[Jobs] = []
    async with rolled_back_sessions(engine) as sessions:
        unit_of_work.bind(sessions, handed.append)
        yield sessions, handed


async def _versions(session: AsyncSession, region: str) -> int:
    found = await session.scalar(
        select(func.count()).select_from(RuleSetVersion).where(RuleSetVersion.region == region)
    )
    return int(found or 0)


def _write(session: AsyncSession, region: str, episode: uuid.UUID, delivery: uuid.UUID) -> None:
    session.add(RuleSetVersion(region=region, effective_from=date(2024, 4, 1), params={}))
    unit_of_work.queue_recompute(session, [episode])
    unit_of_work.queue_deliveries(session, [delivery])


async def test_the_jobs_leave_once_after_the_commit_never_before(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    region, episode, delivery = unique("uow-"), uuid.uuid4(), uuid.uuid4()
    async with sessions() as session:

        async def work() -> str:
            _write(session, region, episode, delivery)
            await session.flush()
            assert handed == []  # inside the transaction nothing is sent
            return "done"

        assert await unit_of_work.run(session, work) == "done"
        assert handed == [Jobs(recompute={episode}, deliveries=[delivery])]
        assert await _versions(session, region) == 1
        await unit_of_work.commit(session)  # a later commit sends nothing again
    assert len(handed) == 1


async def test_a_refusal_is_rolled_back_and_its_jobs_forgotten(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    region = unique("uow-")
    async with sessions() as session:

        async def refused() -> bool:
            _write(session, region, uuid.uuid4(), uuid.uuid4())
            await session.flush()
            return False

        assert await unit_of_work.run(session, refused, keep=bool) is False
        await unit_of_work.commit(session)
        assert await _versions(session, region) == 0
    assert handed == []


async def test_an_error_rolls_back_forgets_the_jobs_and_propagates(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    region = unique("uow-")
    async with sessions() as session:

        async def broken() -> None:
            _write(session, region, uuid.uuid4(), uuid.uuid4())
            await session.flush()
            raise ValueError("a bug")

        with pytest.raises(ValueError, match="a bug"):
            await unit_of_work.run(session, broken)
        await unit_of_work.commit(session)
        assert await _versions(session, region) == 0
    assert handed == []


async def test_a_transient_conflict_runs_the_work_again_from_the_start(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    region, attempts = unique("uow-"), []
    async with sessions() as session:

        async def conflicted_once() -> None:
            attempts.append(uuid.uuid4())
            _write(session, region, attempts[-1], attempts[-1])
            await session.flush()
            if len(attempts) == 1:
                raise DBAPIError("UPDATE …", {}, Deadlock())

        await unit_of_work.run(session, conflicted_once)
        assert await _versions(session, region) == 1  # the first attempt's row was rolled back
    assert handed == [Jobs(recompute={attempts[1]}, deliveries=[attempts[1]])]


async def test_a_conflict_that_persists_is_raised_after_three_attempts(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    attempts = 0
    async with sessions() as session:

        async def always_conflicted() -> None:
            nonlocal attempts
            attempts += 1
            unit_of_work.queue_recompute(session, [uuid.uuid4()])
            raise DBAPIError("UPDATE …", {}, Deadlock())

        with pytest.raises(DBAPIError):
            await unit_of_work.run(session, always_conflicted)
    assert attempts == unit_of_work.TRANSIENT_ATTEMPTS
    assert handed == []


async def test_a_transaction_block_commits_at_its_end_and_rolls_back_on_error(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    kept, dropped, episode = unique("uow-"), unique("uow-"), uuid.uuid4()
    forgotten: list[str] = []
    async with sessions() as session:
        async with unit_of_work.transaction(session):
            _write(session, kept, episode, episode)
            unit_of_work.on_commit(session, lambda: forgotten.append(kept))
            assert forgotten == []

        async def refused() -> None:
            async with unit_of_work.transaction(session):
                _write(session, dropped, uuid.uuid4(), uuid.uuid4())
                unit_of_work.on_commit(session, lambda: forgotten.append(dropped))
                raise RuntimeError("refused")

        with pytest.raises(RuntimeError):
            await refused()
        assert (await _versions(session, kept), await _versions(session, dropped)) == (1, 0)
    assert handed == [Jobs(recompute={episode}, deliveries=[episode])]
    assert forgotten == [kept]


async def test_work_that_found_its_connection_dead_runs_again_on_a_fresh_one(
    bound: tuple[Sessions, list[Jobs]],
) -> None:
    sessions, handed = bound
    region, attempts = unique("uow-"), []
    async with sessions() as session:

        async def first_connection_dead() -> None:
            attempts.append(uuid.uuid4())
            if len(attempts) == 1:  # what a pooled connection kept across a restart raises
                raise DBAPIError("SELECT …", {}, ConnectionError(), connection_invalidated=True)
            _write(session, region, attempts[-1], attempts[-1])

        await unit_of_work.run(session, first_connection_dead)
        assert await _versions(session, region) == 1
    assert handed == [Jobs(recompute={attempts[1]}, deliveries=[attempts[1]])]
