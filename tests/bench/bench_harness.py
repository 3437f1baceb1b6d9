"""Benchmark plumbing: the API and worker as real subprocesses, a lean
keep-alive HTTP/1.1 client (so the load generator costs little of the machine), statistics."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from tests.services import free_port, stop_process_group

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
LOG_DIR = Path("bench-results") / "logs"


def purge_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter("dramatiq*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _env(database: str, broker: str, **extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=database,
        BROKER_URL=broker,
        HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN,
        HANDOVER_ENV="development",
        HANDOVER_RATE_LIMIT_PER_MINUTE="0",
        HANDOVER_LOG_LEVEL="WARNING",
        **extra,
    )


@dataclass
class Server:
    """A running subprocess (API or worker) and its RSS samples."""

    proc: subprocess.Popen[bytes]
    port: int = 0
    rss_samples: list[int] = field(default_factory=list)

    def rss(self) -> int:
        """RSS of the process and its children (dramatiq forks its worker processes)."""
        try:
            parent = psutil.Process(self.proc.pid)
            procs = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            with suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        self.rss_samples.append(total)
        return total

    @property
    def peak_rss_mb(self) -> float:
        return max(self.rss_samples, default=0) / 2**20


def _spawn(
    argv: list[str], env: dict[str, str], log_name: str, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / log_name).open("ab") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
        )


@contextmanager
def api_server(
    database: str, broker: str, name: str = "api", processes: int = 1, source: Path | None = None
) -> Iterator[Server]:
    """``uvicorn services.api.app:create_app --factory --workers N`` (httptools, uvloop).

    ``source``: another checkout of the code to serve (``export_tree``: the code before a
    change, measured in the same run), with this virtualenv.
    """
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--log-level", "warning", "--workers", str(processes)]  # fmt: skip
    env = _env(database, broker, **({"PYTHONPATH": str(source)} if source else {}))
    server = Server(_spawn(argv, env, f"{name}.log", cwd=source), port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not start; see {LOG_DIR / name}.log") from None
                time.sleep(0.1)
        yield server
    finally:
        stop_process_group(server.proc)


@contextmanager
def worker_server(
    database: str, broker: str, processes: int = 1, threads: int = 4
) -> Iterator[Server]:
    """``dramatiq services.worker.actors`` with the given processes and threads."""
    argv = [sys.executable, "-m", "dramatiq", "services.worker.actors",
            "--processes", str(processes), "--threads", str(threads),
            "--worker-shutdown-timeout", "5000"]  # fmt: skip
    server = Server(_spawn(argv, _env(database, broker), "worker.log"))
    try:
        yield server
    finally:
        stop_process_group(server.proc)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; requests are pre-encoded, responses read by length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", token: str = ADMIN_TOKEN
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding":
                raise RuntimeError("chunked responses are not supported by the bench client")
        return status, await self.reader.readexactly(length)

    async def json(
        self, method: str, path: str, payload: Any = None, token: str = ADMIN_TOKEN
    ) -> Any:
        body = b"" if payload is None else json.dumps(payload).encode()
        status, data = await self.request(method, path, body, token)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50/p99/max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms, default=0.0), 2),
    }


async def closed_loop(
    concurrency: int,
    duration: float,
    make_worker: Callable[[int], Callable[[], Awaitable[None]]],
    warmup: float = 0.5,
) -> dict[str, float]:
    """``concurrency`` loops each awaiting one operation after another for ``duration`` s."""
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def loop(i: int) -> None:
        operation = make_worker(i)
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            await operation()
            if t0 >= measure_from:
                latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    return {"ops_per_s": round(len(latencies) / elapsed, 1), **latency_summary(latencies)}


async def fixed_rate(
    rate: float,
    duration: float,
    connections: int,
    make_operation: Callable[[int], Callable[[Any], Awaitable[None]]],
    resources: list[Any],
) -> dict[str, float]:
    """Open loop: one operation every 1/rate s; latency counts from the scheduled start, so a
    stall shows up in the percentiles instead of silently lowering the offered load."""
    idle: asyncio.Queue[Any] = asyncio.Queue()
    for resource in resources[:connections]:
        idle.put_nowait(resource)
    latencies: list[float] = []
    tasks = []
    start = time.perf_counter()
    total = int(rate * duration)

    async def one(i: int, scheduled: float) -> None:
        resource = await idle.get()
        try:
            await make_operation(i)(resource)
        finally:
            idle.put_nowait(resource)
        latencies.append(time.perf_counter() - scheduled)

    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(len(latencies) / elapsed, 1),
        **latency_summary(latencies),
    }


def median_time(samples: list[float]) -> float:
    return statistics.median(samples) if samples else 0.0


def export_tree(ref: str, into: Path) -> Path:
    """The code at git ``ref`` (e.g. the commit before a change), exported into ``into``."""
    archive = subprocess.run(["git", "archive", ref], capture_output=True, check=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
