"""A real webhook receiver on loopback: records every request, answers from a script."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from tests.factories import Api
from tests.services import free_port

T = TypeVar("T")
# A real worker for webhook tests: a fast retry schedule and a short timeout.
WORKER_ENV = {"HANDOVER_WEBHOOK_RETRY_DELAYS": "1,1,1", "HANDOVER_WEBHOOK_TIMEOUT_SECONDS": "2"}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """``script[path]`` is a list of answers used in turn (the last one repeats).

    An answer is a status code, or ``("sleep", seconds, status)`` to answer late.
    """

    port: int
    requests: list[Received] = field(default_factory=list)
    script: dict[str, list[int | tuple[str, float, int]]] = field(default_factory=dict)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, path: str, count: int) -> int | tuple[str, float, int]:
        answers = self.script.get(path) or [204]
        return answers[min(count, len(answers) - 1)]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                count = sum(1 for r in receiver.requests if r.path == self.path)
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic())
                )
            receiver.arrived.set()
            answer = receiver.answer(self.path, count)
            if isinstance(answer, tuple):
                time.sleep(answer[1])
                answer = answer[2]
            try:
                self.send_response(answer)
                if answer == 429:
                    self.send_header("Retry-After", "1")
                if answer in (301, 302):
                    self.send_header("Location", receiver.url("/redirected"))
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:  # the client gave up (a timeout test): nothing to answer
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Serve on a free loopback port in a thread until the block ends."""
    recv = Receiver(free_port())
    server = ThreadingHTTPServer(("127.0.0.1", recv.port), _handler(recv))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recv
    finally:
        server.shutdown()
        server.server_close()


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)


async def subscribe(api: Api, key: dict[str, str], url: str, types: list[str]) -> dict[str, Any]:
    r = await api.client.post("/v1/webhooks", json={"url": url, "event_types": types},
                              headers=key)  # fmt: skip
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body
