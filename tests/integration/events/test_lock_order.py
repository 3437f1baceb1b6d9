"""Every transaction that locks several episodes takes them in one order (no deadlocks).

Ingestion locks a batch's stays in key order; the worker and a rule-set change must too. Each
test holds the lock of the stay that comes later in key order but earlier in id order, starts
the locker, and checks that it already holds the earlier stay while it waits: it locks in key
order. (In id order it would wait on the held stay first and hold nothing.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.core.settings import to_psycopg_url
from shared.episodes.recompute import recompute_episodes
from tests.factories import ADMIN_TOKEN, Api, admission

pytestmark = pytest.mark.postgres
LOCK_NOT_AVAILABLE = "55P03"


async def crossed_stays(api: Api) -> tuple[uuid.UUID, uuid.UUID]:
    """Two stays of one hospital, the later in key order stored first and with the lower id.

    So key order is the reverse of both id order and storage order (what an unordered
    UPDATE would meet first).
    """
    hospital, office, h_key, _ = await api.parties()
    stored: list[uuid.UUID] = []
    for n in reversed(range(40)):  # K-039 first: each new stay is earlier in key order
        ref = f"K-{n:03d}"
        r = await api.post(admission(hospital, ref, "2024-06-03T10:00:00+09:00", office), h_key)
        new = uuid.UUID(r.json()["episode_id"])
        later = next((old for old in stored if old < new), None)
        if later is not None:
            return later, new
        stored.append(new)
    pytest.fail("no two stays with crossed key and id orders")


async def assert_takes_key_order(
    database_url: str,
    held: uuid.UUID,
    earlier: uuid.UUID,
    locker: Callable[[], Coroutine[Any, Any, object]],
) -> None:
    url = to_psycopg_url(database_url)
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as probe:
        holder.execute("SELECT 1 FROM episodes WHERE id = %s FOR UPDATE", (held,))
        task = asyncio.create_task(locker())
        try:
            await asyncio.sleep(0.5)  # the locker runs until it waits on the held stay
            assert not task.done(), "the locker did not wait on the held stay"
            with pytest.raises(psycopg.errors.LockNotAvailable):
                probe.execute("SELECT 1 FROM episodes WHERE id = %s FOR UPDATE NOWAIT", (earlier,))
        finally:
            holder.rollback()
            await asyncio.wait_for(task, 10)


async def test_the_worker_locks_stays_in_key_order(
    api: Api, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    held, earlier = await crossed_stays(api)

    async def recompute() -> None:
        async with sessions() as session, session.begin():
            await recompute_episodes(session, [held, earlier], datetime.now(UTC))

    await assert_takes_key_order(database_url, held, earlier, recompute)


async def test_a_rule_set_change_locks_stays_in_key_order(api: Api, database_url: str) -> None:
    held, earlier = await crossed_stays(api)
    version = {"effective_from": "2024-04-01", "admission_info_deadline_days": 3}

    async def put() -> None:
        r = await api.client.put(
            f"/v1/rule-sets/{api.region}",
            json=version,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert r.status_code == 200, r.text

    await assert_takes_key_order(database_url, held, earlier, put)
