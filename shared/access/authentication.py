"""Who presents a key: the one ``authenticate`` of the API and the screens, with its caches.

``KeyCache`` keeps each API key a request presented (its id, organization, role, hash and whether
it is revoked) for ``KEY_TTL_SECONDS``, so a POST does not read ``api_keys`` each time. Only keys
found in the table are kept (an unknown key always reaches the database and is never cached).
Invalidation: a revocation (``DELETE /v1/api-keys/{id}`` in any API process, ``handover key
revoke``) sends ``NOTIFY handover_api_keys`` in its transaction (``announce_revocation``); every
API process ``listen``s on one connection of its own and forgets its cached keys when the
notification arrives: a revoked key gets 401 at once from the process that revoked it, and from
every other one as soon as PostgreSQL delivers the notification (milliseconds after the commit).
While that connection is down (a database restart) the cache keeps nothing and every request
reads the key.

``KeyUses`` keeps a key's last use off the request path: ``note`` remembers it in memory, and
``flush`` (every ``USE_FLUSH_SECONDS`` from the API's lifespan, at shutdown, and before the API
lists keys) writes ``last_used_at`` for many keys in one statement, still at most once a
``LAST_USED_RESOLUTION_SECONDS`` per key.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import asyncpg
from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.access.api_keys import key_matches, split_key
from shared.access.principal import Principal, Role
from shared.core import unit_of_work
from shared.models import ApiKey

logger = logging.getLogger("handover.access.authentication")
KEY_TTL_SECONDS = 60.0
KEYS_CHANNEL = "handover_api_keys"
LISTEN_CONNECT_TIMEOUT_S = 5.0
LISTEN_RETRY_SECONDS = 1.0
USE_FLUSH_SECONDS = 30.0
LAST_USED_RESOLUTION_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class KnownKey:
    """What authentication reads of a stored key."""

    id: uuid.UUID
    organization_id: str
    role: Role
    key_hash: str
    revoked: bool


_BY_PREFIX = select(
    ApiKey.id, ApiKey.organization_id, ApiKey.role, ApiKey.key_hash, ApiKey.revoked_at
).where(ApiKey.prefix == bindparam("prefix"))


async def announce_revocation(session: AsyncSession) -> None:
    """Tell every API process, once this transaction commits, to forget its cached keys."""
    await session.execute(select(func.pg_notify(KEYS_CHANNEL, "")))


@dataclass
class KeyCache:
    """Stored keys by lookup prefix, each kept ``ttl`` seconds while ``listen`` hears
    revocations (one per process; without a listener nothing is kept)."""

    ttl: float = KEY_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    listening: bool = False
    _keys: dict[str, tuple[float, KnownKey]] = field(default_factory=dict)

    async def get(self, session: AsyncSession, prefix: str) -> KnownKey | None:
        cached = self._keys.get(prefix)
        if cached is not None and cached[0] > self.clock() and self.listening:
            return cached[1]
        row = (await session.execute(_BY_PREFIX, {"prefix": prefix})).first()
        if row is None:
            self._keys.pop(prefix, None)
            return None
        key = KnownKey(row.id, row.organization_id, row.role, row.key_hash,
                       row.revoked_at is not None)  # fmt: skip
        self._keys[prefix] = (self.clock() + self.ttl, key)
        return key

    def clear(self) -> None:
        """Forget every key (a key was revoked, or revocations can no longer be heard)."""
        self._keys.clear()

    async def listen(self, dsn: str) -> None:
        """Hear revocations on a connection of its own until cancelled; reconnect when it drops.

        ``dsn`` is a libpq URL (``postgresql://…``) of the application database.
        """
        while True:
            try:
                await self._listen_once(dsn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                logger.info("not listening for key revocations (%s)", type(exc).__name__)
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def _listen_once(self, dsn: str) -> None:
        """One connection's life: the cache serves entries only while it is open."""
        conn = await asyncpg.connect(dsn, timeout=LISTEN_CONNECT_TIMEOUT_S)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(KEYS_CHANNEL, lambda *_: self.clear())
            self.clear()  # what was cached while nobody listened
            self.listening = True
            await lost.wait()
        finally:
            self.listening = False
            self.clear()
            if not conn.is_closed():
                conn.terminate()


async def authenticate(
    session: AsyncSession, presented: str, *, admin_token: str | None, keys: KeyCache
) -> Principal | None:
    """The caller a key names: the admin token, or a stored key not revoked; else None."""
    if admin_token is not None and hmac.compare_digest(presented.encode(), admin_token.encode()):
        return Principal(key_id=None, organization_id=None, role="admin")
    prefix = split_key(presented)
    key = await keys.get(session, prefix) if prefix is not None else None
    if key is None or key.revoked or not key_matches(presented, key.key_hash):
        return None
    return Principal(key_id=key.id, organization_id=key.organization_id, role=key.role)


_KEYS = cast(Table, ApiKey.__table__)  # Core, not the ORM: one UPDATE, many parameter sets
_NOTE_USES = (
    update(_KEYS)
    .where(
        _KEYS.c.id == bindparam("key_id"),
        or_(_KEYS.c.last_used_at.is_(None), _KEYS.c.last_used_at < bindparam("written_after")),
    )
    .values(last_used_at=bindparam("used_at"))
)


@dataclass
class KeyUses:
    """Keys used since the last flush, with when; written in batches (one per process)."""

    resolution: float = LAST_USED_RESOLUTION_SECONDS
    clock: Callable[[], float] = time.monotonic
    _pending: dict[uuid.UUID, datetime] = field(default_factory=dict)
    _written: dict[uuid.UUID, float] = field(default_factory=dict)

    def note(self, key_id: uuid.UUID) -> None:
        """Remember a use; nothing waits on the database."""
        written = self._written.get(key_id)
        if written is not None and self.clock() - written < self.resolution:
            return
        self._pending.setdefault(key_id, datetime.now(UTC))

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Write the pending uses in one statement; how many keys were noted."""
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        after = timedelta(seconds=self.resolution)
        params = [
            {"key_id": key_id, "used_at": at, "written_after": at - after}
            for key_id, at in pending.items()
        ]
        async with sessions() as session, unit_of_work.transaction(session):
            await session.execute(_NOTE_USES, params)
        now = self.clock()
        self._written.update(dict.fromkeys(pending, now))
        return len(pending)

    async def flush_every(
        self, sessions: async_sessionmaker[AsyncSession], seconds: float = USE_FLUSH_SECONDS
    ) -> None:
        """Flush every ``seconds`` until cancelled; a failed flush only loses those uses."""
        while True:
            await asyncio.sleep(seconds)
            await self.flush_quietly(sessions)

    async def flush_quietly(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        try:
            await self.flush(sessions)
        except Exception as exc:  # informational column: never worth failing anything for
            logger.warning("could not write keys' last use (%s)", type(exc).__name__)
