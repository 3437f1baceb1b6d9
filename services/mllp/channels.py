"""Who may send over MLLP: per-hospital source-address allow-lists and TLS client certificates.

MSH-4 alone names the hospital, so anyone who reaches the port could write as any hospital. An
operator closes that the way interface engines do: an allow-list of source addresses per
hospital, and/or MLLP over TLS where a client certificate (signed by the configured CA) whose
subject CN is a hospital's organization id may send only that hospital's messages. With
`require_channel`, a hospital that has neither may not send over MLLP at all.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.core.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SendCheck = Callable[[str], str | None]


class ChannelConfigError(ValueError):
    """A setting of the hospital channels that cannot be used (said before listening)."""


def networks(sources: Mapping[str, list[str]]) -> dict[str, tuple[Network, ...]]:
    """The allow-lists as networks (a bare address is its own /32 or /128)."""
    out: dict[str, tuple[Network, ...]] = {}
    for hospital, entries in sources.items():
        try:
            out[hospital] = tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)
        except ValueError as exc:
            raise ChannelConfigError(f"HANDOVER_MLLP_ALLOWED_SOURCES[{hospital}]: {exc}") from None
    return out


@dataclass(frozen=True)
class Channels:
    """The listener's channel rules (empty: any address may send for any hospital)."""

    allowed: dict[str, tuple[Network, ...]] = field(default_factory=dict)
    require_channel: bool = False
    tls: ssl.SSLContext | None = None

    @classmethod
    def of(cls, settings: Settings) -> Channels:
        tls = None
        if settings.mllp_tls_cert_file is not None:
            tls = server_context(
                settings.mllp_tls_cert_file,
                settings.mllp_tls_key_file,
                settings.mllp_tls_client_ca_file,
            )
        allowed = networks(settings.mllp_allowed_sources)
        return cls(allowed, settings.mllp_require_channel, tls)

    def check(self, address: str | None, certified: str | None) -> SendCheck:
        """For one connection: why it may not send the given hospital's messages (None: may)."""

        def may_send(hospital_id: str) -> str | None:
            if certified is not None and certified != hospital_id:
                return (
                    f"this connection's client certificate is hospital {certified}'s; MSH-4 names"
                    " another hospital"
                )
            listed = self.allowed.get(hospital_id)
            if listed is not None:
                ip = _ip(address)
                if ip is None or not any(ip in n for n in listed):
                    return (
                        f"this source address is not on hospital {hospital_id}'s MLLP allow-list;"
                        " ask the operator to add it"
                    )
            elif self.require_channel and certified is None:
                return (
                    f"hospital {hospital_id} has no MLLP allow-list or client certificate; ask"
                    " the operator to set one up"
                )
            return None

        return may_send


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address or "")
    except ValueError:
        return None


def server_context(cert: Path, key: Path | None, client_ca: Path | None) -> ssl.SSLContext:
    """TLS 1.2+ with the listener's certificate; client certificates required when a CA is set."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.load_verify_locations(cafile=client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise ChannelConfigError(f"MLLP TLS: {exc}") from None
    return context


def certified_hospital(peer_cert: dict[str, Any] | None) -> str | None:
    """The subject CN of a verified client certificate: the hospital it was issued to."""
    for rdn in (peer_cert or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None
