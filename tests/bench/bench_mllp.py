"""HL7 v2 over MLLP against the same events as JSON batches, in one run (numbers, never pass/fail).

``python -m tests.bench.bench_mllp [--messages 2000] [--connections 4]``

Real processes on a scratch database (Postgres broker on it): the API (uvicorn) and
``handover mllp``. Each phase admits new stays (A01 with a visit number, so no stay lookup):
1. one MLLP connection, a message at a time (each waits for its ACK, as MLLP senders do);
2. ``--connections`` MLLP connections at once;
3. ``POST /v1/hl7v2``, one message per request on one keep-alive connection;
4. the same events as JSON, one ``POST /v1/events`` each (what a message costs over JSON);
5. the same events as JSON, ``POST /v1/events:batch`` of 500;
6. hostile: one connection sends a message of ~1M empty fields while a second connection sends
   ``HOSTILE_NORMALS`` ordinary messages one at a time: how long each ordinary ACK took, and how
   many came before the big message's ACK (all of them, when parsing holds up no other connection).
Prints messages (events) per second and the ratios to the JSON batch; writes
``bench-results/mllp.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from shared.interop.hl7v2.mapping import Events, map_adt
from shared.interop.hl7v2.mllp import END_BLOCK, frame
from shared.interop.hl7v2.parse import Parsed, parse
from tests.bench.bench_harness import ADMIN_TOKEN, LOG_DIR, Server, _env, _spawn, api_server
from tests.services import free_port, fresh_database, stop_process_group

RESULTS = Path("bench-results")
BATCH = 500
HOSTILE_FIELDS = 1_000_000
HOSTILE_NORMALS = 20
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def a01(facility: str, control: str, visit: str, patient: str) -> bytes:
    """An ADT^A01 with a visit number (PV1-19) and an admission time (PV1-44)."""
    segments = [
        f"MSH|^~\\&|HIS|{facility}|HANDOVER|REGION|20240603102000||ADT^A01^ADT_A01|{control}|P|2.5",
        "EVN||202406031015",
        f"PID|1||{patient}^^^HOSP^MR||山田^花子",
        "PV1|1|I" + "|" * 17 + visit + "|" * 25 + "202406031000",
    ]
    return ("\r".join(segments) + "\r").encode()


def messages(facility: str, phase: str, count: int) -> list[bytes]:
    return [a01(facility, f"{phase}{i}", f"{phase}-V{i}", f"P{phase}{i}") for i in range(count)]


def as_event(raw: bytes, hospital: str) -> dict[str, Any]:
    """The JSON event a hospital would post for the message (the pure mapping)."""
    parsed = parse(raw.decode())
    assert isinstance(parsed, Parsed)
    outcome = map_adt(parsed, hospital).outcome
    assert isinstance(outcome, Events)
    return dict(outcome.events[0])


@contextmanager
def mllp_server(database: str) -> Iterator[Server]:
    """``handover mllp`` on a free port (Postgres broker on the database)."""
    port = free_port()
    argv = [sys.executable, "-m", "services.cli", "mllp", "--mllp-port", str(port)]
    proc = _spawn(argv, _env(database, database), "mllp.log")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mllp did not start; see {LOG_DIR}/mllp.log") from None
                time.sleep(0.1)
        yield Server(proc, port)
    finally:
        stop_process_group(proc)


async def send_all(port: int, batch: list[bytes]) -> int:
    """Send each message and wait for its ACK; the number answered AA."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    accepted = 0
    try:
        for raw in batch:
            writer.write(frame(raw))
            await writer.drain()
            ack = await reader.readuntil(bytes([END_BLOCK, 0x0D]))
            accepted += b"MSA|AA|" in ack
    finally:
        writer.close()
        await writer.wait_closed()
    return accepted


async def timed_mllp(port: int, batches: list[list[bytes]]) -> dict[str, Any]:
    started = time.perf_counter()
    accepted = sum(await asyncio.gather(*(send_all(port, b) for b in batches)))
    total = sum(len(b) for b in batches)
    seconds = time.perf_counter() - started
    return rate(total, seconds, accepted=accepted, connections=len(batches))


async def setup(client: httpx.AsyncClient) -> tuple[str, str, dict[str, str]]:
    """A hospital with a sending facility and a key."""
    region, hospital = f"r-{uuid.uuid4().hex[:8]}", f"H{uuid.uuid4().hex[:10]}"
    facility = f"F{uuid.uuid4().hex[:10]}"
    org = {"id": hospital, "kind": "hospital", "name": "bench", "region": region,
           "hl7_sending_facility": facility}  # fmt: skip
    assert (await client.post("/v1/organizations", json=org, headers=ADMIN)).is_success
    body = {"organization_id": hospital, "role": "hospital"}
    r = await client.post("/v1/api-keys", json=body, headers=ADMIN)
    return hospital, facility, {"Authorization": f"Bearer {r.json()['key']}"}


def hostile(facility: str) -> bytes:
    """An A01 whose PID has ~1M empty fields (just under the 1 MiB frame limit)."""
    head = f"MSH|^~\\&|HIS|{facility}|HANDOVER|REGION|20240603102000||ADT^A01|BIG1|P|2.5\r"
    return (head + "PID|1||PBIG" + "|" * HOSTILE_FIELDS + "\r").encode()


async def timed_hostile(port: int, facility: str) -> dict[str, Any]:
    """Ordinary ACK latencies on one connection while another sends the 1M-field message."""
    done: list[str] = []
    big_reader, big_writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    big_writer.write(frame(hostile(facility)))
    await big_writer.drain()

    async def big_ack() -> float:
        # Closed without an ACK (the code before #21) is still the moment it was over.
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await big_reader.readuntil(bytes([END_BLOCK, 0x0D]))
        done.append("big")
        return time.perf_counter() - started

    big = asyncio.create_task(big_ack())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies = []
    for raw in messages(facility, f"h{uuid.uuid4().hex[:6]}x", HOSTILE_NORMALS):
        sent = time.perf_counter()
        writer.write(frame(raw))
        await writer.drain()
        await reader.readuntil(bytes([END_BLOCK, 0x0D]))
        latencies.append(time.perf_counter() - sent)
        done.append("normal")
    big_seconds = await big
    for w in (writer, big_writer):
        w.close()
        await w.wait_closed()
    return {
        "big_message_ack_seconds": round(big_seconds, 3),
        "normal_ack_max_seconds": round(max(latencies), 3),
        "normal_ack_median_seconds": round(sorted(latencies)[len(latencies) // 2], 3),
        "normals_acked_before_big": done.index("big"),
        "normals": HOSTILE_NORMALS,
    }


def rate(count: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {"messages": count, "seconds": round(seconds, 3),
            "per_second": round(count / seconds, 1), **extra}  # fmt: skip


async def run(api_port: int, port: int, count: int, connections: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=60) as client:
        hospital, facility, key = await setup(client)
        await send_all(port, messages(facility, "warm", 50))
        one = await timed_mllp(port, [messages(facility, "one", count)])
        per = count // connections
        many = await timed_mllp(
            port, [messages(facility, f"c{c}x", per) for c in range(connections)]
        )
        started = time.perf_counter()
        hl7_headers = {**key, "Content-Type": "application/hl7-v2"}
        for raw in messages(facility, "http", count):
            await client.post("/v1/hl7v2", content=raw, headers=hl7_headers)
        http = rate(count, time.perf_counter() - started)
        singles = [as_event(raw, hospital) for raw in messages(facility, "single", count)]
        started = time.perf_counter()
        for body in singles:
            r = await client.post("/v1/events", json=body, headers=key)
            assert r.status_code == 201, r.text
        single = rate(count, time.perf_counter() - started)
        events = [as_event(raw, hospital) for raw in messages(facility, "json", count)]
        started = time.perf_counter()
        for i in range(0, len(events), BATCH):
            chunk = {"events": events[i : i + BATCH]}
            r = await client.post("/v1/events:batch", json=chunk, headers=key)
            assert r.status_code == 200, r.text
        batch = rate(count, time.perf_counter() - started, batch=BATCH)
        hostile_phase = await timed_hostile(port, facility)
    return {
        "hostile_1m_fields": hostile_phase,
        "mllp_one_connection": one,
        "mllp_connections": many,
        "http_hl7v2_one_at_a_time": http,
        "json_one_at_a_time": single,
        "json_batch": batch,
        "ratio_mllp_one_to_json_batch": round(one["per_second"] / batch["per_second"], 3),
        "ratio_mllp_many_to_json_batch": round(many["per_second"] / batch["per_second"], 3),
        "ratio_http_hl7v2_to_json_batch": round(http["per_second"] / batch["per_second"], 3),
        "ratio_mllp_one_to_json_one_at_a_time": round(one["per_second"] / single["per_second"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    with (
        fresh_database("handover_bench_mllp") as database,
        api_server(database, database) as api,
        mllp_server(database) as mllp,
    ):
        result = asyncio.run(run(api.port, mllp.port, args.messages, args.connections))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mllp.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
