"""Fixtures shared by the integration tests: a fresh migrated database and the app over ASGI.

How each test is isolated (which fixture to take) is in tests/README.md.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import tests.hypothesis_profiles  # noqa: F401  (registers and loads the Hypothesis profile)
from services.api.app import create_app
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import Settings
from tests.factories import ADMIN_TOKEN, Api
from tests.privacy import CaptureHandler, capture_error_body, leaks
from tests.services import fresh_database, rolled_back_sessions


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new database on the real PostgreSQL, built by running the migrations."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def pg_data_dir() -> Iterator[Path]:
    """A data folder for an embedded PostgreSQL, outside pytest's own temporary root.

    The embedded server runs as a system user that must traverse the folder's parents; pytest
    resets /tmp/pytest-of-<user> to mode 0700 whenever another pytest session starts, which
    locks that user out mid-test ("pg_ctl: could not access directory").
    """
    path = Path(tempfile.mkdtemp(prefix="handover-pg-"))
    path.chmod(0o755)
    yield path / "data"
    shutil.rmtree(path, ignore_errors=True)


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
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://test",
            event_hooks={"response": [capture_error_body]},
        ) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    """A fresh region with its own organizations and keys, so tests never share rows."""
    return Api(client)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The tests' own engine on the test database (the app under test has its own)."""
    made = create_engine(database_url, pool_size=5)
    yield made
    await made.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit, for tests whose writes another connection must see."""
    return create_sessionmaker(engine)


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions whose commits are SAVEPOINTs of one transaction rolled back after the test."""
    async with rolled_back_sessions(engine) as rolled_back:
        yield rolled_back


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001 (pytest passes hooks by name)
    handler = CaptureHandler(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(exc_text)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:  # noqa: ARG001
    """The whole suite's logs and error bodies must not contain an insured number it used."""
    found = leaks()
    if found:
        print(f"\nPRIVACY: {len(found)} log line(s) or error body(ies) contain an insured number:")
        for text in found[:5]:
            print("  ", text[:300])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
