"""The audit rows of a transaction are written in one statement just before it commits: in the
order they were added, never for a transaction rolled back, never lost by a bypassed commit."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.core import unit_of_work
from tests.factories import unique

pytestmark = pytest.mark.postgres
ROWS = text("SELECT action, detail->>'n' FROM audit_log WHERE organization_id = :o ORDER BY id")


def _principal() -> Principal:
    return Principal(key_id=None, organization_id=unique("AUD"), role="hospital")


async def test_rows_are_written_at_the_commit_in_the_order_added(
    db: async_sessionmaker[AsyncSession],
) -> None:
    who = _principal()
    async with db() as session:
        for n in range(3):
            audit(session, who, f"step.{n}", n=n)
        assert (await session.execute(ROWS, {"o": who.organization_id})).all() == []
        await unit_of_work.commit(session)
        found = (await session.execute(ROWS, {"o": who.organization_id})).all()
    assert [tuple(r) for r in found] == [("step.0", "0"), ("step.1", "1"), ("step.2", "2")]


async def test_a_rolled_back_transaction_leaves_no_row_and_nothing_for_the_next(
    db: async_sessionmaker[AsyncSession],
) -> None:
    who = _principal()
    async with db() as session:
        audit(session, who, "refused.write")
        await unit_of_work.rollback(session)
        audit(session, who, "kept.write")
        await unit_of_work.commit(session)
        found = (await session.execute(ROWS, {"o": who.organization_id})).all()
    assert [r[0] for r in found] == ["kept.write"]


async def test_a_commit_around_the_unit_of_work_is_refused_not_silently_lossy(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        audit(session, _principal(), "would.be.lost")
        with pytest.raises(RuntimeError, match=r"unit_of_work\.commit"):
            await session.commit()
        await unit_of_work.rollback(session)
