"""`record_reads`: one access-log row per episode shown, naming the person or key, on commit."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.access.access_log import record_reads
from shared.access.principal import Principal
from shared.models import AccessLogEntry

pytestmark = pytest.mark.postgres


async def _rows(session: AsyncSession, episode_ids: list[uuid.UUID]) -> list[AccessLogEntry]:
    query = select(AccessLogEntry).where(AccessLogEntry.episode_id.in_(episode_ids))
    return list(await session.scalars(query.order_by(AccessLogEntry.id)))


async def test_a_key_reading_three_episodes_writes_three_rows_once_committed(
    db: async_sessionmaker[AsyncSession],
) -> None:
    key = Principal(key_id=uuid.uuid4(), organization_id="H-LOG-1", role="hospital")
    shown = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    async with db() as session:
        repeated = [*shown, shown[0]]
        await record_reads(session, key, repeated, path="/v1/episodes", address="10.0.0.7")
        assert await _rows(session, shown) == []  # added, not flushed: the caller commits
        await session.commit()
    async with db() as session:
        rows = await _rows(session, shown)
    assert [r.episode_id for r in rows] == shown  # the repeated episode is one row
    assert {(r.actor_type, r.actor_id, r.organization_id, r.path, r.address) for r in rows} == {
        ("api_key", key.key_id, "H-LOG-1", "/v1/episodes", "10.0.0.7")
    }
    assert all(r.at is not None for r in rows)


async def test_a_person_is_named_rather_than_the_key_and_the_admin_token_has_no_id(
    db: async_sessionmaker[AsyncSession],
) -> None:
    person = Principal(
        key_id=None, organization_id="C-LOG-1", role="care_office", user_id=uuid.uuid4()
    )
    admin = Principal(key_id=None, organization_id=None, role="admin")
    first, second = uuid.uuid4(), uuid.uuid4()
    async with db() as session:
        await record_reads(session, person, [first], path="/ui/episodes/x", address=None)
        await record_reads(session, admin, [second], path="/v1/episodes/y", address="::1")
        await session.commit()
    async with db() as session:
        rows = {r.episode_id: r for r in await _rows(session, [first, second])}
    assert (rows[first].actor_type, rows[first].actor_id) == ("user", person.user_id)
    assert rows[first].organization_id == "C-LOG-1"
    assert (rows[second].actor_type, rows[second].actor_id) == ("api_key", None)
    assert rows[second].organization_id is None


async def test_a_rolled_back_answer_leaves_no_row(db: async_sessionmaker[AsyncSession]) -> None:
    key = Principal(key_id=uuid.uuid4(), organization_id="H-LOG-2", role="hospital")
    shown = uuid.uuid4()
    async with db() as session:
        await record_reads(session, key, [shown], path="/v1/episodes", address=None)
        await session.rollback()
    async with db() as session:
        assert await _rows(session, [shown]) == []
