"""The one engine and session factory, and the MetaData with a constraint naming convention."""

from __future__ import annotations

import logging
from typing import TypeVar

from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from shared.core.settings import to_asyncpg_url

T = TypeVar("T")
logger = logging.getLogger("handover.db")
# PostgreSQL aborted the transaction only because of concurrent ones: running it again is safe.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; migrations target ``Base.metadata``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine; callers own it (the API lifespan, the worker middleware, the CLI)."""
    return create_async_engine(
        to_asyncpg_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping before each checkout (it cost every request a round trip). A connection that
        # died (a database restart) fails its first statement; SQLAlchemy then invalidates the
        # whole pool, and ``unit_of_work.run`` runs the transaction again on a fresh connection.
        pool_pre_ping=False,
        pool_recycle=1800,
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": "handover", "timezone": "UTC"}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (the request commits at its boundary)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE code of a driver error wrapped by SQLAlchemy, if it has one."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code if isinstance(code, str) else None


def is_transient_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction was rolled back, nothing stored."""
    return isinstance(exc, DBAPIError) and sqlstate(exc) in TRANSIENT_SQLSTATES


def is_lost_connection(exc: BaseException) -> bool:
    """The connection was found dead (and discarded): nothing it began can have committed."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
