"""Fixtures shared by the integration tests: a fresh migrated database and the app over ASGI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from services.worker.broker import init_broker_schema

from services.api.app import create_app
from shared.schema_migrations import upgrade_to_head
from shared.settings import Settings
from tests.factories import ADMIN_TOKEN, Api
from tests.services import require_service

SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new database on the real PostgreSQL, built by running the migrations."""
    require_service("postgres", SERVER_URL)
    name = f"handover_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(SERVER_URL, name)
    upgrade_to_head(url)
    init_broker_schema(url)
    yield url
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        broker_url=database_url,
        admin_token=ADMIN_TOKEN,
        env="development",
    )


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (real database, real Postgres broker) over an in-process ASGI transport."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    """A fresh region with its own organizations and keys, so tests never share rows."""
    return Api(client)
