"""The one engine and session factory, and the MetaData with a constraint naming convention."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from shared.settings import to_asyncpg_url

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
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": "handover", "timezone": "UTC"}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (the request commits at its boundary)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
