"""The outbound HTTP client: only public https targets in production, checked where it connects.

The host is resolved here and the connection is made to the very address that was checked
(the Host header and TLS SNI still name the host), so a name that resolves to a public address
when checked and a private one when connected (DNS rebinding) cannot reach the inside. No
redirect is followed, a response is read up to a limit, and each endpoint gets a bounded share
of concurrent deliveries so one slow receiver cannot hold every worker.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from shared.core.settings import Settings
from shared.notify.address_guard import literal_address, refusal

MAX_RESPONSE_BYTES = 64 * 1024


class TargetRefused(Exception):
    """The URL may not be called from this deployment (said without any personal data)."""


@dataclass(frozen=True)
class TargetPolicy:
    """Production: https and public addresses only, except the hosts an operator lists."""

    production: bool
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        hosts = {h.strip().lower() for h in settings.webhook_allowed_hosts.split(",") if h.strip()}
        return cls(settings.env == "production", frozenset(hosts))

    def exempt(self, host: str) -> bool:
        return not self.production or host.lower().rstrip(".") in self.allowed_hosts


def check_address(host: str, address: str, policy: TargetPolicy) -> None:
    """Refuse a non-public address in production unless the host is listed as allowed."""
    if policy.exempt(host):
        return
    parsed = literal_address(address)
    reason = "unreadable" if parsed is None else refusal(parsed)
    if reason is not None:
        raise TargetRefused(f"the host resolves to a {reason} address ({address})")


def parse_url(url: str | httpx.URL) -> httpx.URL:
    """The URL as httpx reads it; one it cannot read is refused like any other target."""
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise TargetRefused(f"the URL is not valid: {exc}") from exc


def check_scheme(url: httpx.URL, policy: TargetPolicy) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise TargetRefused("the URL must be http(s) with a host")
    if url.scheme != "https" and not policy.exempt(url.host):
        raise TargetRefused("the URL must be https in production")
    if url.userinfo:
        raise TargetRefused("the URL must not carry credentials")


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (an address literal is itself)."""
    literal = literal_address(host)
    if literal is not None:
        return [str(literal)]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused("the host does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(url: str | httpx.URL, policy: TargetPolicy) -> list[str]:
    """The addresses a delivery to ``url`` may connect to; every one must pass the check."""
    parsed = parse_url(url)
    check_scheme(parsed, policy)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await resolve(parsed.host, port)
    if not addresses:
        raise TargetRefused("the host does not resolve")
    for address in addresses:
        check_address(parsed.host, address, policy)
    return addresses


async def check_target(url: str, policy: TargetPolicy) -> None:
    """A subscription's URL: refused (422) when production would refuse to deliver to it."""
    parsed = parse_url(url)
    check_scheme(parsed, policy)
    if not policy.exempt(parsed.host):
        await checked_addresses(parsed, policy)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Resolve, check, then connect to the checked address with the original Host and SNI."""

    def __init__(self, policy: TargetPolicy, inner: httpx.AsyncBaseTransport | None = None):
        self.policy = policy
        self.inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = (await checked_addresses(request.url, self.policy))[0]
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions["sni_hostname"] = host
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,  # already carries Host: <the original host>
            stream=request.stream,
            extensions=extensions,
        )
        return await self.inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status (and Retry-After), or an error and no status."""

    status_code: int | None
    error: str | None
    retry_after: float | None
    seconds: float


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class WebhookClient:
    """One per process (event loop): pooled connections, a semaphore per endpoint."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        timeout: float = 10.0,
        per_endpoint: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.per_endpoint = per_endpoint
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(policy),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            trust_env=False,  # no proxy from the environment between us and the check
        )
        self._slots: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookClient:
        return cls(
            TargetPolicy.from_settings(settings),
            timeout=settings.webhook_timeout_seconds,
            per_endpoint=settings.webhook_concurrency_per_endpoint,
        )

    def busy(self, endpoint: str) -> bool:
        """The endpoint has its share of requests in flight."""
        slot = self._slots.get(endpoint)
        return slot is not None and slot.locked()

    async def post(
        self,
        endpoint: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        slot_wait: float | None = None,
    ) -> Answer | None:
        """POST within the timeout, never raising: the answer says what happened.

        With ``slot_wait``, None when the endpoint's share of concurrent requests stays taken
        that long (the caller comes back later instead of holding a worker thread).
        """
        slot = self._slots.setdefault(endpoint, asyncio.Semaphore(self.per_endpoint))
        try:
            await asyncio.wait_for(slot.acquire(), slot_wait)
        except TimeoutError:
            return None
        try:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._post(url, body, headers, started)
            except TimeoutError:
                error = f"timeout: no answer within {self.timeout:g} s"
            except TargetRefused as exc:
                error = f"refused: {exc}"
            except httpx.HTTPError as exc:
                error = f"network error: {type(exc).__name__}"
            except OSError as exc:
                error = f"network error: {type(exc).__name__}"
            return Answer(None, error, None, time.perf_counter() - started)
        finally:
            slot.release()

    async def _post(
        self, url: str, body: bytes, headers: Mapping[str, str], started: float
    ) -> Answer:
        target = parse_url(url)  # one the guard cannot read is refused, never raised
        request = self._client.build_request("POST", target, content=body, headers=dict(headers))
        response = await self._client.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_RESPONSE_BYTES:
                    break  # the status is what counts; the rest of the body is not read
        finally:
            await response.aclose()
        retry_after = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
        return Answer(response.status_code, None, retry_after, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._client.aclose()
