"""Episodes set aside by the worker: their fold raised, so they wait for an operator's re-run.

The record holds no personal data: the exception's class and the function that raised it, never
the message (a ValidationError's message quotes the input: insured numbers, names).
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

import shared
from shared.access.audit import audit
from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.core.db import sqlstate
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import Episode
from shared.rules.bounds import TIMESTAMP_ID_CURSOR, timestamp_id_key

logger = logging.getLogger("handover.worker.recompute")
# Folds these episodes and writes what the fold derives; raises if any one of them fails.
FoldBatch = Callable[[Sequence[uuid.UUID]], Awaitable[int]]
PROJECT_ROOT = Path(shared.__file__).resolve().parents[1]  # the checkout, wherever this file is
# SQLSTATE classes that blame the moment, not the episode: connection (08), transaction rollback
# (40: deadlock, serialization), resources (53), lock not available (55), operator (57), system
# (58), internal (XX). The message is retried instead.
ENVIRONMENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "55", "57", "58", "XX"})
IS_SET_ASIDE = Episode.fold_failed_at.is_not(None)
# Worth folding: never set aside, or a new event arrived since (the version moved on).
FOLDABLE: ColumnElement[bool] = or_(
    Episode.fold_failed_version.is_(None), Episode.fold_failed_version < Episode.version
)
ERROR_WIDTH = Episode.fold_error.type.length or 120
WHERE_WIDTH = Episode.fold_error_where.type.length or 200


@dataclass(frozen=True, slots=True)
class SetAside:
    """One set-aside episode as the operator sees it."""

    episode_id: uuid.UUID
    hospital_id: str
    error_type: str
    error_where: str | None
    failed_at: datetime
    failed_version: int
    version: int


def blames_the_episode(exc: Exception) -> bool:
    """True when ``exc`` comes from the episode's data; False when the database or network fails."""
    if isinstance(exc, OSError | TimeoutError):
        return False
    if isinstance(exc, DBAPIError):
        code = sqlstate(exc)
        return not exc.connection_invalidated and (
            code is None or code[:2] not in ENVIRONMENT_SQLSTATE_CLASSES
        )
    return True


def describe(exc: BaseException) -> tuple[str, str | None]:
    """The exception's class and the innermost project function that raised it (no message)."""
    where = None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(PROJECT_ROOT) and ".venv" not in path.parts:
            module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            where = f"{module}.{frame.name}"[:WHERE_WIDTH]
            break
    return type(exc).__qualname__[:ERROR_WIDTH], where


async def set_aside(
    session: AsyncSession, episode_id: uuid.UUID, exc: BaseException, now: datetime
) -> None:
    """Mark the episode set aside at its current version; it stays dirty (not folded)."""
    error, where = describe(exc)
    await session.execute(
        update(Episode)
        .where(Episode.id == episode_id)
        .values(
            fold_error=error,
            fold_error_where=where,
            fold_failed_at=now,
            fold_failed_version=Episode.version,
        )
        .execution_options(synchronize_session=False)
    )


async def fold_setting_aside(
    session: AsyncSession, episode_ids: Sequence[uuid.UUID], fold: FoldBatch, now: datetime
) -> int:
    """Run ``fold`` on the episodes in a SAVEPOINT; how many it folded.

    When the batch fails because of an episode's data, its halves are folded again, each in a
    SAVEPOINT, down to the episodes that still fail, which are set aside while the others are
    stored. A database or network failure is raised.
    """
    ids = list(dict.fromkeys(episode_ids))
    try:
        async with session.begin_nested():
            return await fold(ids)  # the common case: one pass for all
    except Exception as exc:
        if not blames_the_episode(exc):
            raise
        logger.warning("a batch of %d failed (%s in %s); isolating", len(ids), *describe(exc))
    return await _fold_halves(session, ids, fold, now)


async def _fold_halves(
    session: AsyncSession, ids: Sequence[uuid.UUID], fold: FoldBatch, now: datetime
) -> int:
    """Fold each half of a failed batch in a SAVEPOINT; bisect a failing half, set one aside.

    k bad episodes among n cost about 2·k·log2(n) batch folds, not n single ones.
    """
    folded = 0
    for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
        if not half:
            continue
        try:
            async with session.begin_nested():
                folded += await fold(half)
                continue
        except Exception as exc:
            if not blames_the_episode(exc):
                raise
            if len(half) == 1:
                await set_aside(session, half[0], exc, now)
                logger.error("episode %s set aside: %s in %s", half[0], *describe(exc))
                continue
        folded += await _fold_halves(session, half, fold, now)
    return folded


def clear_marks(episode: Episode) -> None:
    """The episode folded: whatever set it aside before no longer holds."""
    episode.fold_error = episode.fold_error_where = None
    episode.fold_failed_at = episode.fold_failed_version = None


async def list_set_aside(
    session: AsyncSession, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> list[SetAside]:
    """Set-aside episodes, oldest failure first, in keyset pages after ``after``."""
    query = (
        select(
            Episode.id,
            Episode.hospital_id,
            Episode.fold_error,
            Episode.fold_error_where,
            Episode.fold_failed_at,
            Episode.fold_failed_version,
            Episode.version,
        )
        .where(IS_SET_ASIDE)
        .order_by(Episode.fold_failed_at, Episode.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Episode.fold_failed_at, Episode.id) > tuple_(*after))
    return [
        SetAside(
            episode_id, hospital_id, error or "", where, failed_at, failed_version or 0, version
        )
        for episode_id, hospital_id, error, where, failed_at, failed_version, version in (
            await session.execute(query)
        )
        if failed_at is not None  # always, by IS_SET_ASIDE; narrows the type
    ]


async def release_set_aside(
    session: AsyncSession, episode_ids: Sequence[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Clear the marks (all, or of ``episode_ids``) so the worker folds them again; their ids."""
    statement = update(Episode).where(IS_SET_ASIDE)
    if episode_ids is not None:
        statement = statement.where(Episode.id.in_(episode_ids))
    released = await session.scalars(
        statement.values(
            fold_error=None, fold_error_where=None, fold_failed_at=None, fold_failed_version=None
        )
        .returning(Episode.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(released)


async def set_aside_page(
    session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[SetAside], str | None]:
    """A page of set-aside episodes, oldest failure first, and the next page's cursor."""
    after = decode_cursor(cursor, TIMESTAMP_ID_CURSOR) if cursor else None

    async def fetch(n: int) -> Sequence[SetAside]:
        return await list_set_aside(session, n, after)

    return await keyset_page(
        fetch, limit, lambda item: timestamp_id_key(item.failed_at, item.episode_id)
    )


async def retry_set_aside(
    session: AsyncSession,
    principal: Principal,
    *,
    client_address: str | None = None,
) -> list[uuid.UUID]:
    """Clear every mark, audited, and send those episodes to the worker after the commit."""
    released = await release_set_aside(session)
    audit(session, principal, "retry_set_aside", client_address=client_address,
          episodes=len(released))  # fmt: skip
    unit_of_work.queue_recompute(session, released)
    return released
