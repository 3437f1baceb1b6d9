"""The access log: one row per episode whose patient fields an answer shows, naming the reader.

Every answer, screen page or file that shows an episode's patient fields calls `record_reads`
with the episodes it shows, in the request's own transaction, so the rows are committed before
the answer is sent (and an answer that fails shows nothing and logs nothing). The rows hold ids
only: who (a person, ``actor_type`` ``user``, or an API key, ``api_key``), the reader's
organization, which episode, the request's path and address, and when.

The bootstrap admin token (``HANDOVER_ADMIN_TOKEN``) is no key row: it is recorded as
``actor_type`` ``api_key`` with ``actor_id`` null, as the audit trail records it.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import TypeAdapter
from sqlalchemy import Row, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.access.principal import Principal
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import AccessLogEntry
from shared.rules.bounds import BoundedId
from shared.rules.timestamps import in_tokyo

ACCESS_LOG_CURSOR: Final = TypeAdapter(BoundedId)  # the id of the last entry
# The CSV's columns: the JSON item's fields, in the same order.
CSV_COLUMNS: Final = (
    "at", "actor_type", "actor_id", "organization_id", "episode_id", "path", "address",
)  # fmt: skip
CSV_BATCH: Final = 1000
# What a page and the CSV read of an entry: every column, the id last (the cursor).
LOGGED_COLUMNS: Final = (
    AccessLogEntry.at, AccessLogEntry.actor_type, AccessLogEntry.actor_id,
    AccessLogEntry.organization_id, AccessLogEntry.episode_id, AccessLogEntry.path,
    AccessLogEntry.address, AccessLogEntry.id,
)  # fmt: skip
Logged = Row[datetime, str, uuid.UUID | None, str | None, uuid.UUID, str, str | None, int]


async def record_reads(
    session: AsyncSession,
    principal: Principal,
    episode_ids: Iterable[uuid.UUID],
    *,
    path: str,
    address: str | None,
) -> None:
    """Write one access-log row per episode (each once) in ``session``'s transaction; no commit.

    The caller's transaction commits them before the answer is sent (a rollback takes them
    back). One INSERT of plain rows, no ORM objects: a list page of a hundred patients adds
    one statement, not a hundred objects to flush.
    """
    actor_type = "user" if principal.user_id is not None else "api_key"
    actor_id = principal.user_id if principal.user_id is not None else principal.key_id
    rows = [
        {
            "actor_type": actor_type,
            "actor_id": actor_id,
            "organization_id": principal.organization_id,
            "episode_id": episode_id,
            "path": path,
            "address": address,
        }
        for episode_id in dict.fromkeys(episode_ids)
    ]
    if rows:
        await session.execute(insert(AccessLogEntry), rows)


class AccessLogDenied(Exception):
    """The caller may not read the access log."""


def access_log_scope(principal: Principal) -> str | None:
    """The organization whose people's and keys' reads the caller may see, None for all of them.

    The one place that decides who reads the log: the operator (an admin key or the bootstrap
    token) reads all of it; an organization's ``org_admin`` (a signed-in person) reads the reads
    of its own organization's people and keys; anyone else is refused (AccessLogDenied).
    """
    if principal.is_admin:
        return None
    if principal.org_admin and principal.organization_id is not None:
        return principal.organization_id
    raise AccessLogDenied


def may_read_access_log(principal: Principal) -> bool:
    """Whether ``access_log_scope`` lets the caller in (the screens' menu asks)."""
    try:
        access_log_scope(principal)
    except AccessLogDenied:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AccessLogFilter:
    """Which entries to read: the reader's organization, the episode, ``since <= at < until``."""

    organization_id: str | None = None
    episode_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def within(self, scope: str | None) -> AccessLogFilter:
        """The same filter kept inside ``scope`` (None: everything may be read)."""
        if scope is None:
            return self
        return AccessLogFilter(scope, self.episode_id, self.since, self.until)

    def query(
        self,
    ) -> Select[datetime, str, uuid.UUID | None, str | None, uuid.UUID, str, str | None, int]:
        """The entries matching, newest first, as plain rows (no ORM objects: an export reads
        millions)."""
        query = select(*LOGGED_COLUMNS).order_by(AccessLogEntry.id.desc())
        if self.organization_id is not None:
            query = query.where(AccessLogEntry.organization_id == self.organization_id)
        if self.episode_id is not None:
            query = query.where(AccessLogEntry.episode_id == self.episode_id)
        if self.since is not None:
            query = query.where(AccessLogEntry.at >= self.since)
        if self.until is not None:
            query = query.where(AccessLogEntry.at < self.until)
        return query


async def access_log_page(
    session: AsyncSession, filters: AccessLogFilter, *, limit: int, cursor: str | None
) -> tuple[list[Logged], str | None]:
    """A page of entries newest first and the next page's cursor (an empty cursor: the first)."""
    query = filters.query()
    if cursor:
        query = query.where(AccessLogEntry.id < decode_cursor(cursor, ACCESS_LOG_CURSOR))

    async def fetch(n: int) -> Sequence[Logged]:
        return list(await session.execute(query.limit(n)))

    return await keyset_page(fetch, limit, lambda entry: entry.id)


async def access_log_csv(
    sessions: async_sessionmaker[AsyncSession], filters: AccessLogFilter
) -> AsyncIterator[bytes]:
    """Every matching entry as CSV (UTF-8 with a BOM, CRLF, as the survey CSV), newest first.

    It reads on a session of its own (the request's is gone while the body streams), in keyset
    batches, so memory stays bounded however long the log is.
    """
    yield _csv_text([CSV_COLUMNS]).encode("utf-8-sig")
    query = filters.query().limit(CSV_BATCH)
    after: int | None = None
    async with sessions() as session:
        while True:
            page = query if after is None else query.where(AccessLogEntry.id < after)
            batch = list(await session.execute(page))
            if batch:
                yield _csv_text(_csv_cells(entry) for entry in batch).encode()
            if len(batch) < CSV_BATCH:
                return
            after = batch[-1].id


def _csv_cells(entry: Logged) -> tuple[str, ...]:
    return (
        in_tokyo(entry.at).isoformat(),
        entry.actor_type,
        "" if entry.actor_id is None else str(entry.actor_id),
        entry.organization_id or "",
        str(entry.episode_id),
        entry.path,
        entry.address or "",
    )


def _csv_text(lines: Iterable[Iterable[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    return buffer.getvalue()
