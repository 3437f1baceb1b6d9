"""The MLLP listener in-process on a free port, on the real database, for the interop tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.mllp.channels import Channels
from services.mllp.server import Limits, Listener, start
from tests.services import free_port

Serve = Callable[..., Awaitable[int]]


@pytest.fixture
async def serve(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Serve]:
    """Start a listener with the given limits (and channel rules); stopped after the test."""
    servers: list[asyncio.Server] = []

    async def start_one(limits: Limits, channels: Channels | None = None) -> int:
        port = free_port()
        listener = Listener(sessions, limits, channels=channels or Channels())
        servers.append(await start(listener, "127.0.0.1", port))
        return port

    yield start_one
    for server in servers:
        server.close()
