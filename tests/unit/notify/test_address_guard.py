"""One address guard, two uses: every spelling of an inside address is refused at registration
(``check_target``, what ``POST /v1/webhooks`` asks) and again where a delivery connects
(``GuardedTransport``), and a public address passes both. Production policy throughout."""

from __future__ import annotations

import httpx
import pytest

from shared.notify.client import (
    GuardedTransport,
    TargetPolicy,
    TargetRefused,
    WebhookClient,
    check_target,
)

PRODUCTION = TargetPolicy(production=True)

# class -> hosts as they appear in a URL. Each one is, or resolves to, or embeds an address no
# webhook may reach from production.
REFUSED: dict[str, list[str]] = {
    "loopback IPv4": [
        "127.0.0.1", "127.1", "127.0.1", "127.255.255.254", "0x7f.1", "0x7F.0.0.1",
        "0x7f000001", "2130706433", "017700000001", "0177.0.0.1", "127.000.000.001",
        "127。0。0。1",
    ],
    "loopback names": ["localhost", "localhost.", "LOCALHOST"],
    "unspecified": ["0.0.0.0", "0", "0x0", "[::]", "[0:0:0:0:0:0:0:0]"],
    "private IPv4": [
        "10.0.0.1", "10.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.1",
        "0xc0a80001", "3232235521",
    ],
    "link-local": [
        "169.254.169.254", "169.254.0.1", "0xa9fea9fe", "2852039166", "[fe80::1]",
        "[fe80::1%25eth0]",
    ],
    "special-purpose IPv4": [
        "100.64.0.1", "192.0.0.1", "192.0.2.1", "198.18.0.1", "198.51.100.1", "203.0.113.1",
        "240.0.0.1", "255.255.255.255", "224.0.0.1", "239.255.255.250",
    ],
    "IPv6 loopback, private, reserved": [
        "[::1]", "[0:0:0:0:0:0:0:1]", "[fc00::1]", "[fd12:3456::1]", "[fec0::1]", "[ff02::1]",
        "[2001:db8::1]", "[100::1]",
    ],
    "IPv4-mapped": [
        "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:192.168.0.1]",
    ],
    "IPv4-compatible": [
        "[::127.0.0.1]", "[::7f00:1]", "[::10.0.0.1]", "[::169.254.169.254]",
    ],
    "SIIT (IPv4-translated)": ["[::ffff:0:127.0.0.1]", "[::ffff:0:a00:1]"],
    "6to4": [
        "[2002:7f00:1::1]", "[2002:a00:1::1]", "[2002:a9fe:a9fe::1]", "[2002:c0a8:1::1]",
        "[2002::1]",
    ],
    "Teredo": [
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # client 127.0.0.1 (stored inverted)
        "[2001:0:a00:1:8000:63bf:a2b7:2a87]",  # server 10.0.0.1
        "[2001:0:4136:e378:8000:63bf:5601:5601]",  # client 169.254.169.254 (inverted)
    ],
    "NAT64": [
        "[64:ff9b::127.0.0.1]", "[64:ff9b::7f00:1]", "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b::10.0.0.1]", "[64:ff9b:1::808:808]",
    ],
}  # fmt: skip
PUBLIC = [
    "93.184.216.34",
    "[2606:2800:220:1:248:1893:25c8:1946]",
    "[::ffff:93.184.216.34]",
    "[2002:5db8:d822::1]",
    "[64:ff9b::93.184.216.34]",
]
TABLE = [(cls, host) for cls, hosts in REFUSED.items() for host in hosts]
IDS = [f"{cls}: {host}" for cls, host in TABLE]


def test_the_table_holds_at_least_55_spellings_in_every_class() -> None:
    assert len(TABLE) >= 55
    assert all(len(hosts) >= 2 for hosts in REFUSED.values())


class _Network(httpx.AsyncBaseTransport):
    """Stands in for the network: records every address the guarded transport connects to."""

    def __init__(self) -> None:
        self.connected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.connected.append(request.url.host)
        return httpx.Response(204, stream=httpx.ByteStream(b""))


async def _deliver(host: str) -> tuple[str | None, _Network]:
    """A delivery as the worker makes it: the error it records, and where it connected."""
    network = _Network()
    client = WebhookClient(PRODUCTION, transport=GuardedTransport(PRODUCTION, network))
    try:
        answer = await client.post("endpoint", f"https://{host}/hook", b"{}", {})
    finally:
        await client.aclose()
    assert answer is not None
    return answer.error, network


@pytest.mark.parametrize("host", [h for _, h in TABLE], ids=IDS)
async def test_registration_refuses_every_inside_spelling(host: str) -> None:
    with pytest.raises(TargetRefused):
        await check_target(f"https://{host}/hook", PRODUCTION)


@pytest.mark.parametrize("host", [h for _, h in TABLE], ids=IDS)
async def test_delivery_refuses_every_inside_spelling_before_connecting(host: str) -> None:
    error, network = await _deliver(host)
    assert error is not None
    assert error.startswith("refused: ")
    assert network.connected == []


@pytest.mark.parametrize("host", PUBLIC)
async def test_a_public_address_passes_both_guards(host: str) -> None:
    await check_target(f"https://{host}/hook", PRODUCTION)
    error, network = await _deliver(host)
    assert error is None
    assert len(network.connected) == 1
