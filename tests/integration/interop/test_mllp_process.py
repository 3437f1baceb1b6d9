"""`handover mllp` as operators run it: a real process, its ACKs, and its Prometheus port."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.factories import Api
from tests.integration.interop.test_hl7v2_http import msa
from tests.integration.interop.test_mllp_listener import (
    TIMEOUT_S,
    Connection,
    sender,
    with_facility,
)
from tests.services import free_port, stop_process_group
from tests.unit.interop.helpers import fixture

pytestmark = pytest.mark.postgres


async def _connect(port: int, proc: subprocess.Popen[bytes]) -> Connection:
    deadline = time.monotonic() + 30
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            return Connection(reader, writer)
        except OSError:
            assert proc.poll() is None, "handover mllp exited"
            assert time.monotonic() < deadline, "handover mllp did not listen within 30 s"
            await asyncio.sleep(0.2)


async def test_the_listener_process_counts_its_messages_on_its_metrics_port(
    api: Api, database_url: str
) -> None:
    _, facility, _ = await sender(api)
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=database_url,
               HANDOVER_MLLP_METRICS_PORT=str(metrics_port))  # fmt: skip
    argv = [sys.executable, "-m", "services.cli", "mllp", "--mllp-host", "127.0.0.1",
            "--mllp-port", str(port)]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        conn = await _connect(port, proc)
        raw = with_facility(fixture("hl7v2", "wikipedia_adt_a01.hl7"), facility)
        assert msa(await asyncio.wait_for(conn.exchange(raw), TIMEOUT_S))[1] == "AA"
        await conn.close()
        async with httpx.AsyncClient() as client:
            scrape = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        stop_process_group(proc)
    assert scrape.status_code == 200
    counted = [
        line
        for line in scrape.text.splitlines()
        if line.startswith("handover_messages_total{") and 'channel="mllp"' in line
    ]
    assert any('outcome="AA"' in line and line.endswith(" 1.0") for line in counted), counted
    assert proc.returncode == 0, "SIGTERM stops it cleanly"
