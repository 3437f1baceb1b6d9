"""The key cache and the batched last use behind ``authenticate`` (issue 20)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.access.authentication import KeyCache, KeyUses, authenticate
from shared.models import ApiKey
from tests.factories import Api, admin_headers

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]


async def _issued(api: Api) -> tuple[str, uuid.UUID]:
    hospital = await api.org("hospital")
    r = await api.client.post(
        "/v1/api-keys", json={"organization_id": hospital, "role": "hospital"},
        headers=admin_headers(),
    )  # fmt: skip
    return r.json()["key"], uuid.UUID(r.json()["id"])


async def _revoke_silently(sessions: Sessions, key_id: uuid.UUID) -> None:
    """Revoked behind the API's back: no NOTIFY, as a cache that hears nothing would see it."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=ApiKey.created_at)
        )


async def _until(condition: Callable[[], bool], seconds: float = 2.0) -> bool:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_cache_that_hears_no_revocations_reads_the_key_every_time(
    api: Api, sessions: Sessions
) -> None:
    key, key_id = await _issued(api)
    cache = KeyCache()  # not listening
    async with sessions() as session:
        assert await authenticate(session, key, admin_token=None, keys=cache) is not None
        await _revoke_silently(sessions, key_id)
        assert await authenticate(session, key, admin_token=None, keys=cache) is None


async def test_a_listening_cache_keeps_a_key_and_forgets_it_when_one_is_revoked(
    api: Api, sessions: Sessions, database_url: str
) -> None:
    key, key_id = await _issued(api)
    other_key, other_id = await _issued(api)
    cache = KeyCache()
    listener = asyncio.create_task(cache.listen(database_url))
    try:
        assert await _until(lambda: cache.listening)
        async with sessions() as session:
            found = await authenticate(session, key, admin_token=None, keys=cache)
            assert found is not None
            assert found.key_id == key_id
            await _revoke_silently(sessions, key_id)  # no notification: the cache still holds it
            assert await authenticate(session, key, admin_token=None, keys=cache) is not None
            # Revoking any key through the API notifies every listening cache.
            revoked = await api.client.delete(f"/v1/api-keys/{other_id}", headers=admin_headers())
            assert revoked.status_code == 204
            assert await _until(lambda: not cache._keys)
            assert await authenticate(session, key, admin_token=None, keys=cache) is None
            assert await authenticate(session, other_key, admin_token=None, keys=cache) is None
    finally:
        listener.cancel()


async def test_last_use_is_written_in_one_flush_and_at_most_once_a_resolution(
    api: Api, sessions: Sessions
) -> None:
    _, key_id = await _issued(api)
    uses = KeyUses(resolution=60)
    uses.note(key_id)
    uses.note(key_id)
    assert await uses.flush(sessions) == 1
    async with sessions() as session:
        first = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))
    assert first is not None
    uses.note(key_id)  # within the resolution: nothing to write
    assert await uses.flush(sessions) == 0
