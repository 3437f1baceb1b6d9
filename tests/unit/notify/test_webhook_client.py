"""The outbound client's refusals, the signature a receiver verifies, the retry schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.core.settings import Settings
from shared.notify.client import (
    GuardedTransport,
    TargetPolicy,
    TargetRefused,
    check_address,
    checked_addresses,
    retry_after_seconds,
)
from shared.notify.delivery import DEFAULT_DELAYS, retry_delays
from shared.notify.secrets import WebhookKeyMissing, decrypt, encrypt, new_secret
from shared.notify.signing import signed_headers

PRODUCTION = TargetPolicy(production=True)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_production_refuses_every_non_public_address(address: str) -> None:
    with pytest.raises(TargetRefused):
        check_address("hooks.example.jp", address, PRODUCTION)


def test_production_accepts_a_public_address_and_an_allowed_host() -> None:
    check_address("hooks.example.jp", "93.184.216.34", PRODUCTION)
    check_address("Intranet.Local", "10.0.0.5", TargetPolicy(True, frozenset({"intranet.local"})))
    check_address("localhost", "127.0.0.1", TargetPolicy(production=False))


async def test_a_hostname_resolving_to_loopback_is_refused_in_production() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        await checked_addresses("https://localhost/hook", PRODUCTION)


async def test_production_requires_https_and_no_credentials() -> None:
    with pytest.raises(TargetRefused, match="https"):
        await checked_addresses("http://93.184.216.34/hook", PRODUCTION)
    with pytest.raises(TargetRefused, match="credentials"):
        await checked_addresses("https://user:pw@93.184.216.34/hook", PRODUCTION)
    with pytest.raises(TargetRefused):
        await checked_addresses("ftp://93.184.216.34/hook", TargetPolicy(production=False))


class _Recording(httpx.AsyncBaseTransport):
    """Stands in for the network: records where the guarded transport really connects."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return httpx.Response(204)


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding name: public, then loopback

    async def rebinding(_host: str, _port: int) -> list[str]:
        return next(answers)

    monkeypatch.setattr("shared.notify.client.resolve", rebinding)
    inner = _Recording()
    async with httpx.AsyncClient(transport=GuardedTransport(PRODUCTION, inner)) as client:
        r = await client.post("https://hooks.example.jp/in", content=b"{}")
        assert r.status_code == 204
        with pytest.raises(TargetRefused, match="loopback"):
            await client.post("https://hooks.example.jp/in", content=b"{}")
    [sent] = inner.seen
    assert sent.url.host == "93.184.216.34"
    assert sent.headers["host"] == "hooks.example.jp"
    assert sent.extensions["sni_hostname"] == "hooks.example.jp"


def test_signature_verifies_with_the_library_and_both_secrets_after_rotation() -> None:
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_")
    assert len(old) == len("whsec_") + 44
    body = '{"type":"ping","timestamp":"2026-12-02T00:00:00Z","data":{}}'
    headers = signed_headers("d-1", body, [new, old], datetime.now(UTC))
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "ping",
            "timestamp": "2026-12-02T00:00:00Z", "data": {}}  # fmt: skip
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("ping", "pong"), headers)


def test_a_non_utc_clock_still_signs_the_true_unix_time() -> None:
    tokyo = datetime(2026, 12, 2, 9, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    )
    headers = signed_headers("d-2", "{}", [new_secret()], tokyo)
    assert headers["webhook-timestamp"] == str(int(tokyo.timestamp()))


def test_the_retry_schedule_and_its_override() -> None:
    assert retry_delays(Settings()) == DEFAULT_DELAYS == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert retry_delays(Settings(webhook_retry_delays="1, 1,1")) == (1, 1, 1)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Wed, 02 Dec 2026 00:01:00 GMT", now) == 60
    assert retry_after_seconds("soon", now) is None


def test_secrets_are_stored_encrypted_and_production_needs_the_key() -> None:
    settings = Settings(webhook_key="k" * 40)
    secret = new_secret()
    token = encrypt(settings, secret)
    assert secret not in token
    assert decrypt(settings, token) == secret
    with pytest.raises(WebhookKeyMissing):
        decrypt(Settings(webhook_key="another-key-" * 4), token)
    # Production settings without the key do not load (test_settings); past that, still refused.
    with pytest.raises(WebhookKeyMissing):
        encrypt(Settings().model_copy(update={"env": "production"}), secret)


def test_development_generates_a_private_key_file(tmp_path: object) -> None:
    from pathlib import Path

    data_dir = Path(str(tmp_path))
    settings = Settings(data_dir=data_dir)
    token = encrypt(settings, "whsec_x")
    assert (data_dir / "webhook.key").stat().st_mode & 0o777 == 0o600
    assert decrypt(Settings(data_dir=data_dir), token) == "whsec_x"


async def test_the_client_times_out_and_never_follows_a_redirect() -> None:
    from shared.notify.client import WebhookClient
    from tests.webhook_receiver import receiver

    with receiver() as recv:
        recv.script = {"/slow": [("sleep", 2, 200)], "/moved": [302]}
        client = WebhookClient(TargetPolicy(production=False), timeout=0.5)
        try:
            slow = await client.post("e", recv.url("/slow"), b"{}", {})
            moved = await client.post("e", recv.url("/moved"), b"{}", {})
        finally:
            await client.aclose()
        assert slow is not None
        assert moved is not None
        assert slow.status_code is None
        assert slow.error
        assert "timeout" in slow.error
        assert moved.status_code == 302
        await asyncio.sleep(0.1)
        assert recv.at("/redirected") == []
    assert timedelta(seconds=slow.seconds) < timedelta(seconds=1.5)


async def test_a_subscription_url_is_refused_where_production_would_not_deliver() -> None:
    from shared.notify.client import check_target

    for url in ("http://hooks.example.jp/in", "https://localhost/in", "https://10.0.0.8/in"):
        with pytest.raises(TargetRefused):
            await check_target(url, PRODUCTION)
    await check_target("https://10.0.0.8/in", TargetPolicy(True, frozenset({"10.0.0.8"})))
    await check_target("http://localhost:9/in", TargetPolicy(production=False))


async def test_the_receiver_in_the_vendor_docs_verifies_a_real_notification() -> None:
    import re
    from pathlib import Path

    docs = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()
    found = re.search(r"```python\n(.*?)```", docs, re.S)
    assert found is not None
    secret = new_secret()
    namespace: dict[str, object] = {}
    exec(found.group(1).replace("whsec_…your secret…", secret), namespace)
    transport = httpx.ASGITransport(app=namespace["app"])  # type: ignore[arg-type]
    body = '{"type":"ping","timestamp":"2026-12-02T00:00:00Z","data":{}}'
    headers = signed_headers("d-doc", body, [secret], datetime.now(UTC))
    forged = signed_headers("d-doc", body, [new_secret()], datetime.now(UTC))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        good = await client.post("/handover/hook", content=body, headers=headers)
        bad = await client.post("/handover/hook", content=body, headers=forged)
    assert (good.status_code, bad.status_code) == (204, 400)


async def test_an_endpoint_at_its_bound_is_busy_and_others_are_not() -> None:
    from shared.notify.client import WebhookClient
    from tests.webhook_receiver import receiver

    with receiver() as recv:
        recv.script = {"/slow": [("sleep", 0.5, 204)]}
        client = WebhookClient(TargetPolicy(production=False), timeout=5, per_endpoint=2)
        try:
            slow = [asyncio.ensure_future(client.post("slow", recv.url("/slow"), b"{}", {}))
                    for _ in range(2)]  # fmt: skip
            await asyncio.sleep(0.1)
            assert client.busy("slow")
            assert not client.busy("fast")
            fast = await client.post("fast", recv.url("/fast"), b"{}", {})
            assert fast is not None
            assert fast.status_code == 204
            assert fast.seconds < 0.4  # not queued behind the slow endpoint
            await asyncio.gather(*slow)
            assert not client.busy("slow")
        finally:
            await client.aclose()
