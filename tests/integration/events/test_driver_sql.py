"""Statements sent around SQLAlchemy (shared.core.driver_sql) belong to the session's
transaction, and their errors look like SQLAlchemy's, on a real server."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.core import driver_sql, unit_of_work
from shared.core.db import is_lost_connection, sqlstate
from shared.episodes.repository import STATE_COLUMNS
from shared.events.repository import WRITE_EPISODE, lock_episodes
from tests.factories import unique

pytestmark = pytest.mark.postgres
STAY_EXISTS = text("SELECT count(*) FROM episodes WHERE hospital_id = :h AND encounter_ref = :r")


def test_the_fold_is_written_to_every_column_it_sets_in_order() -> None:
    set_list = WRITE_EPISODE.split(" SET ", 1)[1].split("WHERE", 1)[0]
    written = re.findall(r"(\w+) = \$(\d+)", set_list)
    assert [c for c, _ in written][: len(STATE_COLUMNS)] == list(STATE_COLUMNS)
    assert [int(n) for _, n in written][: len(STATE_COLUMNS)] == list(
        range(2, 2 + len(STATE_COLUMNS))
    )


@pytest.mark.parametrize("keep", [True, False])
async def test_a_first_statement_is_inside_the_transaction_the_session_ends(
    sessions: async_sessionmaker[AsyncSession], keep: bool
) -> None:
    hospital, ref = unique("DRV"), unique("R-")
    async with sessions() as session:
        [locked] = await lock_episodes(session, [(hospital, ref)])  # nothing ran before it
        assert locked.version == 1
        if keep:
            await unit_of_work.commit(session)
        else:
            await unit_of_work.rollback(session)
    async with sessions() as session:
        found = await session.scalar(STAY_EXISTS, {"h": hospital, "r": ref})
        assert found == (1 if keep else 0)
        await session.execute(text("DELETE FROM episodes WHERE hospital_id = :h"), {"h": hospital})
        await unit_of_work.commit(session)


async def test_an_error_is_a_dbapi_error_with_its_sqlstate_and_the_session_goes_on(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(DBAPIError) as raised:
            await driver_sql.fetch(session, "SELECT 1 / $1::int", 0)
        assert sqlstate(raised.value) == "22012"  # division_by_zero
        assert not is_lost_connection(raised.value)
        await unit_of_work.rollback(session)
        assert await session.scalar(text("SELECT 2")) == 2


async def test_a_connection_killed_under_it_is_invalidated_so_the_work_runs_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        async with sessions() as other:  # the signal is asynchronous: wait for the exit
            await other.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            await unit_of_work.commit(other)
        with pytest.raises(DBAPIError) as raised:
            await driver_sql.fetch(session, "SELECT 1")
        assert is_lost_connection(raised.value)  # what unit_of_work.run retries
        await unit_of_work.rollback(session)
        assert await session.scalar(text("SELECT 3")) == 3  # a fresh connection
