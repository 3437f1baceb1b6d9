"""The one address guard: may a webhook be delivered to this address, or to this host literal?

Used when a subscription's URL is registered (``check_target``) and again where a delivery
connects (``GuardedTransport``), so both refuse exactly the same addresses. An address is
public only if it is a global unicast address and every IPv4 address it embeds or maps to is
public too: IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), SIIT
(``::ffff:0:a.b.c.d``), 6to4 (``2002:AABB:CCDD::``), Teredo (server and client) and NAT64
(``64:ff9b::/96``; the local-use ``64:ff9b:1::/48`` is never public). Host literals are read
the way the C resolver reads them (``127.1``, ``0x7f.1``, ``017700000001``, ``2130706433``), so
a spelling cannot slip an address past the check that the connection would then reach.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_SIIT: Final = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_PROPERTIES: Final = ("loopback", "link_local", "private", "multicast", "reserved",
                           "unspecified")  # fmt: skip
_IPV6_PROPERTIES: Final = (*_IPV4_PROPERTIES, "site_local")


def _last_32_bits(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address this IPv6 address carries by a standard mapping or tunnel."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE or address in _SIIT or address in _NAT64_WELL_KNOWN:
        found.append(_last_32_bits(address))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not be delivered to this address (None: it is a public one)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "scoped (link-local)"
        if address in _NAT64_LOCAL_USE:
            return "NAT64 local-use"
        carried = embedded_ipv4(address)
        if carried:  # the mapping's own block is judged by what it carries
            reasons = [r for r in map(_ipv4_refusal, carried) if r is not None]
            return f"{reasons[0]} (embedded IPv4)" if reasons else None
        for name in _IPV6_PROPERTIES:
            if getattr(address, f"is_{name}"):
                return name.replace("_", "-")
        return None if address.is_global else "not global"
    return _ipv4_refusal(address)


def _ipv4_refusal(address: ipaddress.IPv4Address) -> str | None:
    for name in _IPV4_PROPERTIES:
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return None if address.is_global else "not global"


def literal_address(host: str) -> IPAddress | None:
    """The address a host literal names, as a resolver would read it; None for a name.

    Accepts IPv6 (with or without brackets or a zone), dotted IPv4 and the inet_aton forms:
    one to four parts, each decimal, octal (leading 0) or hexadecimal (0x).
    """
    text = host.strip().rstrip(".").removeprefix("[").removesuffix("]")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.replace("%25", "%", 1))
        except ValueError:
            return None
    return _inet_aton(text)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _c_number(part)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for i, n in enumerate(head):
        value |= n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _c_number(part: str) -> int | None:
    """A number as C's strtoul(base 0) reads it: decimal, 0-octal or 0x-hexadecimal, ASCII."""
    lowered = part.lower()
    if lowered.startswith("0x"):
        digits, base, allowed = lowered[2:] or "0", 16, "0123456789abcdef"
    elif len(lowered) > 1 and lowered.startswith("0"):
        digits, base, allowed = lowered[1:], 8, "01234567"
    else:
        digits, base, allowed = lowered, 10, "0123456789"
    if not digits or any(c not in allowed for c in digits):
        return None
    return int(digits, base)
