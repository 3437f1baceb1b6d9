"""The one write path: every transaction that writes commits here, and only here.

A unit of work is one session's transaction. It retries a transient conflict (a deadlock or a
serialization failure: PostgreSQL rolled everything back, so running it again is safe) and work
that found its pooled connection dead (there is no ping before each checkout), commits
once, rolls back a refusal, and after the commit hands the jobs queued on the session to the
broker in one bounded, non-blocking step. A rollback forgets the jobs. A crash between the commit
and the hand-off loses only the broker message: a recompute's dirty mark and a webhook delivery's
pending row are committed with the change, and the periodic sweeps find them.

Use cases write with the caller's session and say what must follow the commit; they never
commit, roll back nor enqueue::

    from shared.core import unit_of_work

    async def acknowledge(session, ...) -> Row:          # a use case
        ...                                              # writes through the session
        unit_of_work.queue_recompute(session, [episode_id])  # refold after the commit
        return row

The caller (a router, a screen, the MLLP listener, a worker actor, the CLI) owns the
transaction, in one of three ways:

``await run(session, work, keep=...)``
    ``work()`` runs in the session's transaction; a transient conflict rolls back and runs it
    again (up to ``TRANSIENT_ATTEMPTS``); then the transaction commits when ``keep(result)`` is
    true (the default) and is rolled back otherwise (a refusal that must leave nothing behind).
    An exception rolls back and propagates. ``work`` must be safe to repeat from its start.
``await commit(session)``
    Commit what the request wrote so far (an audit row after a read), then hand off. For a
    transaction with nothing to retry.
``async with transaction(session):``
    Begin, then commit and hand off when the block ends, or roll back on an exception: the
    worker's and the CLI's transactions.

Queueing (inside the transaction, before the commit):

``queue_recompute(session, episode_ids)``
    Refold these episodes once the change is committed (their dirty mark is the recovery).
``queue_deliveries(session, delivery_ids)``
    Send these webhook deliveries once committed (their pending rows are the recovery).
``before_commit(session, name, make)``
    The writer registered under ``name`` for this transaction (``make()`` makes it the first
    time); it is awaited just before the commit, and a rollback forgets it with what it holds:
    how rows added one by one in a request (the audit trail's) become one statement.
``on_commit(session, forget)``
    Call ``forget()`` in this process once committed: how a use case drops what a cache of this
    process holds about the rows it changed (rule sets, webhook subscriptions). Other
    processes see the change when their cache entry expires (each cache states its lifetime).

Events are recorded the same way by every way in: ``run(session, lambda: record(session, raws,
principal, way, **intake), keep=kept)`` with ``shared.events.recording`` (a new kind of write,
such as an access-log row or a sheet, is added through the caller's session and committed by
the same ``run``/``commit`` as the rest of its request).

The hand-off is per session factory: ``bind(factory, hand_off)`` makes every session of
``factory`` pass its committed ``Jobs`` to ``hand_off`` (``shared.queue.after_commit.AfterCommit``
in the API, the MLLP listener and the worker). ``hand_off`` must never block nor raise. A session
of an unbound factory (the CLI, a test) drops its jobs at the commit and leaves them to the
sweeps. ``rollback(session)`` is the one explicit rollback, for a caller that ends a transaction
it only read in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared.core.db import is_lost_connection, is_transient_conflict

T = TypeVar("T")
W = TypeVar("W", bound=Callable[[], Awaitable[None]])
logger = logging.getLogger("handover.unit_of_work")
TRANSIENT_ATTEMPTS = 3
JOBS_KEY = "handover.jobs"
CALLS_KEY = "handover.on_commit"
BEFORE_KEY = "handover.before_commit"
HAND_OFF_KEY = "handover.hand_off"


@dataclass
class Jobs:
    """Broker work a transaction queued, sent only once it has committed."""

    recompute: set[uuid.UUID] = field(default_factory=set)
    deliveries: list[uuid.UUID] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.recompute or self.deliveries)


HandOff = Callable[[Jobs], None]


def bind(factory: async_sessionmaker[AsyncSession], hand_off: HandOff) -> None:
    """Sessions of ``factory`` hand their committed jobs to ``hand_off`` (never blocks/raises)."""
    info = dict(factory.kw.get("info") or {})
    info[HAND_OFF_KEY] = hand_off
    factory.configure(info=info)


def _jobs(session: AsyncSession) -> Jobs:
    jobs = session.info.get(JOBS_KEY)
    if jobs is None:
        jobs = session.info[JOBS_KEY] = Jobs()
    assert isinstance(jobs, Jobs)
    return jobs


def queue_recompute(session: AsyncSession, episode_ids: Iterable[uuid.UUID]) -> None:
    """Refold these episodes after the commit (a rollback forgets them)."""
    _jobs(session).recompute.update(episode_ids)


def queue_deliveries(session: AsyncSession, delivery_ids: Iterable[uuid.UUID]) -> None:
    """Send these webhook deliveries after the commit (a rollback forgets them)."""
    _jobs(session).deliveries.extend(delivery_ids)


def before_commit(session: AsyncSession, name: str, make: Callable[[], W]) -> W:
    """This transaction's writer called ``name``, made by ``make()`` if it has none yet; it is
    awaited just before the commit (a rollback forgets it)."""
    writers: dict[str, Any] = session.info.setdefault(BEFORE_KEY, {})
    if name not in writers:
        writers[name] = make()
    return cast(W, writers[name])


@event.listens_for(Session, "before_commit")
def _nothing_left_unwritten(session: Session) -> None:
    """A commit that went around ``commit()`` would drop the rows its writers hold: refuse it."""
    if session.info.get(BEFORE_KEY):
        raise RuntimeError("rows wait for unit_of_work.commit(); commit through it")


def on_commit(session: AsyncSession, call: Callable[[], object]) -> None:
    """Call ``call`` (quick, in-process: a cache invalidation) after the commit."""
    session.info.setdefault(CALLS_KEY, []).append(call)


async def commit(session: AsyncSession) -> None:
    """Write what waits for the commit, commit, then hand the queued jobs to the broker."""
    for write in session.info.pop(BEFORE_KEY, {}).values():
        await write()
    await session.commit()
    for call in session.info.pop(CALLS_KEY, ()):
        call()
    jobs = session.info.pop(JOBS_KEY, None)
    hand_off = session.info.get(HAND_OFF_KEY)
    if jobs and hand_off is not None:
        try:
            hand_off(jobs)
        except Exception as exc:  # committed: the dirty marks and pending rows recover it
            logger.warning("after-commit hand-off failed (%s)", type(exc).__name__)


async def rollback(session: AsyncSession) -> None:
    """Roll the transaction back and forget the jobs it queued."""
    session.info.pop(JOBS_KEY, None)
    session.info.pop(CALLS_KEY, None)
    session.info.pop(BEFORE_KEY, None)
    await session.rollback()


def always(_: object) -> bool:
    return True


async def run(
    session: AsyncSession,
    work: Callable[[], Awaitable[T]],
    *,
    keep: Callable[[T], bool] = always,
) -> T:
    """Run ``work`` in one transaction, retried on a transient conflict; commit if ``keep``.

    ``work`` must not commit and must be safe to repeat from the start (everything it did was
    rolled back). A result ``keep`` refuses is rolled back and returned. Run again too: work
    whose connection turned out dead (the pool kept it across a database restart); never a
    commit whose connection died, as it may have committed.
    """
    for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            result = await work()
        except DBAPIError as exc:
            await rollback(session)
            if not (is_transient_conflict(exc) or is_lost_connection(exc)):
                raise
            _again(exc, attempt)
            continue
        except BaseException:
            await rollback(session)
            raise
        if not keep(result):
            await rollback(session)
            return result
        try:
            await commit(session)
        except DBAPIError as exc:
            await rollback(session)
            if not is_transient_conflict(exc):
                raise
            _again(exc, attempt)
            continue
        except BaseException:
            await rollback(session)
            raise
        return result
    raise AssertionError("unreachable")


def _again(exc: DBAPIError, attempt: int) -> None:
    """Log a retry, or raise ``exc`` when the attempts are spent."""
    if attempt == TRANSIENT_ATTEMPTS:
        raise exc
    reason = "lost connection" if is_lost_connection(exc) else "transient conflict"
    logger.info("%s (attempt %d), running the transaction again", reason, attempt)


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Begin; commit and hand off at the end of the block, roll back on an exception."""
    await session.begin()
    try:
        yield session
    except BaseException:
        await rollback(session)
        raise
    await commit(session)
