"""The one place SQL goes around SQLAlchemy: asyncpg's connection under a session.

Why (docs/performance.md, "Where a POST's time goes"): a profile of 400 POSTs put a third of the
request's CPU in SQLAlchemy's execution of the ingestion's statements (the session's execute,
the execution context, result rows, two greenlet switches a statement): 0.2-0.35 ms a statement
against 0.03-0.08 ms for the same statement sent by asyncpg. Ingestion runs its statements on
every event of every way in (API, screens, HL7 v2, FHIR), so those and only those come here
(`shared.events.repository`, `shared.episodes.repository.load_events`), and so does the audit
row every write adds (`shared.access.audit`); everything else keeps
SQLAlchemy, whose session owns the transaction either way.

What this keeps true:
- The statement runs in the session's transaction. SQLAlchemy's asyncpg adapter sends BEGIN
  lazily, before its first statement; when nothing has run yet, ``_driver`` has the adapter
  begin (its ``_start_transaction``, the same call the adapter makes itself), so the commit or
  rollback that the unit of work sends later covers these statements too.
  ``tests/integration/events/test_driver_sql.py`` proves it against a real server.
- Errors look as if SQLAlchemy had run the statement: a ``DBAPIError`` whose ``orig`` is the
  asyncpg error (its ``sqlstate`` read as usual), so the unit of work's retry of deadlocks and
  the API's 503 for an outage treat them alike; a connection that died is invalidated first.
- Parameters are plain Python values with explicit casts in the SQL; JSON travels as text
  (``::text`` / ``::jsonb``), so nothing depends on the codecs the dialect registers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_LOST = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)
_LOST_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})  # admin/crash shutdown, cannot connect


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of one statement, in the session's transaction."""
    async with _sent(session, sql) as driver:
        return list(await driver.fetch(sql, *args))


async def execute(session: AsyncSession, sql: str, *args: Any) -> None:
    """One statement without rows, in the session's transaction."""
    async with _sent(session, sql) as driver:
        await driver.execute(sql, *args)


async def execute_many(session: AsyncSession, sql: str, args: Iterable[Sequence[Any]]) -> None:
    """One statement for each tuple of arguments, pipelined, in the session's transaction."""
    async with _sent(session, sql) as driver:
        await driver.executemany(sql, args)


@asynccontextmanager
async def _sent(session: AsyncSession, sql: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """The driver connection for ``sql``; its errors come out as SQLAlchemy's would."""
    connection, driver = await _driver(session)
    try:
        yield driver
    except (asyncpg.PostgresError, *_LOST) as exc:
        raise await _wrapped(connection, sql, exc) from exc


async def _driver(
    session: AsyncSession,
) -> tuple[AsyncConnection, asyncpg.Connection[asyncpg.Record]]:
    connection = await session.connection()
    pooled = await connection.get_raw_connection()
    adapted: Any = pooled.dbapi_connection  # SQLAlchemy's AsyncAdapt_asyncpg_connection
    if adapted._transaction is None:  # nothing ran yet: begin as the adapter would
        await adapted._start_transaction()
    driver = pooled.driver_connection
    assert driver is not None  # an open pooled connection has its driver's
    return connection, driver


async def _wrapped(connection: AsyncConnection, sql: str, exc: Exception) -> DBAPIError:
    lost = isinstance(exc, _LOST) or getattr(exc, "sqlstate", None) in _LOST_SQLSTATES
    if lost:
        await connection.invalidate(exc)
    return DBAPIError(sql, None, exc, hide_parameters=True, connection_invalidated=lost)
