"""Abuse limits at the edge: body size and JSON depth (ASGI middleware), per-key request rate."""

from __future__ import annotations

import json
import math
import threading
import time
from array import array
from collections.abc import Awaitable, Callable, MutableMapping
from itertools import accumulate
from typing import Any

from services.api.errors import FHIR_JSON, FHIR_PREFIX, PROBLEM_CONTENT_TYPE, problem_body
from shared.access.principal import Principal
from shared.interop.fhir.outcome import operation_outcome

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024  # a full batch of 1000 events fits with room to spare
MAX_JSON_DEPTH = 32
UNLIMITED_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})  # no body is read


_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # signed bytes: +1 opens, -1 closes


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when brackets nest deeper than ``limit`` (strings are skipped).

    Escapes are dropped, every other quote-separated piece (the strings) skipped, brackets
    turned into +1/-1 and the running depth summed, all in C, not byte by byte in Python (what
    that saved: docs/performance.md).
    """
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    steps = array("b", brackets.translate(_STEP))
    return max(accumulate(steps), default=0) > limit


NOT_JSON_MEDIA_TYPES = (b"application/hl7-v2", b"x-application/hl7-v2+er7")  # ER7 text


async def _problem(send: Send, status: int, detail: str, path: str = "") -> None:
    """problem+json; under /fhir/ an OperationOutcome, as every FHIR answer is."""
    content_type = PROBLEM_CONTENT_TYPE
    document = problem_body(status, detail)
    if path.startswith(FHIR_PREFIX):
        content_type, document = FHIR_JSON, operation_outcome("error", "too-costly", detail)
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse bodies over the size limit (413) or nested too deep (400) before any parsing."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in UNLIMITED_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        path = str(scope.get("path", ""))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _problem(send, 413, f"The body is larger than {self.max_bytes} bytes.", path)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _problem(send, 413, f"The body is larger than {self.max_bytes} bytes.", path)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media not in NOT_JSON_MEDIA_TYPES and json_depth_exceeds(body, self.max_depth):
            await _problem(send, 400, f"The JSON nests deeper than {self.max_depth} levels.", path)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute with a burst of the same size.

    In-process: each API process limits on its own (behind a load balancer, set its limit too).
    """

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None) -> int:
        """0 when the request may pass (a token is taken), else whole seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))


def rate_limit_key(principal: Principal) -> str:
    """The bucket a request counts against, the same for the API and the screens.

    The API key (the admin token is one key of its own), or a signed-in person: each person
    has a bucket of their own, limited as a key is (never the admin token's).
    """
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    return f"key:{principal.key_id}" if principal.key_id is not None else "admin-token"


def rate_limit_wait(limiter: RateLimiter | None, principal: Principal) -> int:
    """0 when the request may pass (one token is taken), else whole seconds to wait."""
    return 0 if limiter is None else limiter.retry_after(rate_limit_key(principal))
