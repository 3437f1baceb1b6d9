"""A database that refuses connections is a 503; a bug is a 500; neither drops the connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError

from services.api.app import create_app
from services.api.deps import get_session
from shared.core.settings import Settings
from tests.factories import admin_headers, unique
from tests.services import SERVER_URL, free_port, fresh_database

pytestmark = pytest.mark.postgres
INTERNALS = ("Traceback", "sqlalchemy", "asyncpg", "psycopg", "SELECT", "INSERT", 'File "')
SECRET = "private-detail-0000123456"  # stands for personal data in an exception's message


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert not [word for word in (*INTERNALS, SECRET) if word in response.text], response.text
    return body


def _driver_error(cls: type[Exception], message: str) -> DBAPIError:
    """An asyncpg error wrapped exactly as SQLAlchemy's asyncpg dialect wraps it."""
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    original = cls(message)
    for base in type(original).__mro__:
        if base in dbapi._asyncpg_error_translate:
            translated = dbapi._asyncpg_error_translate[base](message, original)
            break
    error = DBAPIError.instance("SELECT 1", {}, translated, dbapi.Error)
    assert isinstance(error, DBAPIError)
    return error


@asynccontextmanager
async def _asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@contextmanager
def _refusing_connections(url: str) -> Iterator[None]:
    name = url.rpartition("/")[2]
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            yield
        finally:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


async def test_a_database_not_accepting_connections_is_503_with_retry_after(
    settings: Settings,
) -> None:
    with fresh_database("handover_closed", migrate=False) as url, _refusing_connections(url):
        app = create_app(settings.model_copy(update={"database_url": url}))
        async with _asgi_client(app) as client:
            for r in (
                await client.get("/v1/organizations", headers=admin_headers()),
                await client.post(
                    "/v1/organizations",
                    json={"id": unique("H"), "kind": "hospital", "name": "x", "region": "r"},
                    headers=admin_headers(),
                ),
            ):
                _assert_problem(r, 503)
                assert r.headers["retry-after"].isdigit()


@pytest.mark.parametrize(
    "cls",
    [
        asyncpg.exceptions.CannotConnectNowError,  # 57P03: shutting down / starting up
        asyncpg.exceptions.AdminShutdownError,  # 57P01
        asyncpg.exceptions.CrashShutdownError,  # 57P02
        asyncpg.exceptions.ConnectionFailureError,  # 08006
        asyncpg.exceptions.ClientCannotConnectError,  # 08001
        asyncpg.exceptions.TooManyConnectionsError,  # 53300
    ],
)
async def test_connection_class_sqlstates_on_any_request_are_503(
    settings: Settings, cls: type[Exception]
) -> None:
    app = create_app(settings)

    async def unavailable() -> AsyncIterator[Any]:
        raise _driver_error(cls, f"the database system is shutting down {SECRET}")
        yield  # pragma: no cover

    app.dependency_overrides[get_session] = unavailable
    async with _asgi_client(app) as client:
        for r in (
            await client.get("/v1/organizations", headers=admin_headers()),
            await client.get("/v1/flags", headers=admin_headers()),
            await client.post("/v1/events", json={}, headers=admin_headers()),
        ):
            _assert_problem(r, 503)
            assert r.headers["retry-after"].isdigit()


def _app_with_faults(settings: Settings) -> FastAPI:
    """The real app plus test-only routes: one that fails like a bug, one that names the port."""
    app = create_app(settings)

    async def bug() -> None:
        raise RuntimeError(SECRET)

    async def sql_bug() -> None:
        raise _driver_error(asyncpg.exceptions.UndefinedTableError, SECRET)

    async def outage() -> None:
        raise _driver_error(asyncpg.exceptions.CannotConnectNowError, SECRET)

    async def port(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    for path, endpoint in (("bug", bug), ("sql-bug", sql_bug), ("outage", outage), ("port", port)):
        app.add_api_route(f"/test-only/{path}", endpoint, methods=["GET"])
    return app


@asynccontextmanager
async def _uvicorn(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_after_a_500_the_same_keep_alive_connection_serves_the_next_request(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app_with_faults(settings)
    async with (
        _uvicorn(app) as base_url,
        httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1)) as client,
    ):
        first = (await client.get("/test-only/port")).json()["port"]
        with caplog.at_level(logging.DEBUG):
            for path, status in (("bug", 500), ("sql-bug", 500), ("outage", 503)):
                body = _assert_problem(await client.get(f"/test-only/{path}"), status)
                assert body["status"] == status
                again = await client.get("/test-only/port")
                assert again.status_code == 200
                assert again.json()["port"] == first, f"the connection was dropped after {path}"
            r = await client.get("/v1/organizations", headers=admin_headers())
            assert r.status_code == 200
            assert (await client.get("/test-only/port")).json()["port"] == first
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "unhandled RuntimeError on GET /test-only/bug" in logged
    assert SECRET not in logged, "an exception's message (maybe personal data) was logged"
