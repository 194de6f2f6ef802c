"""Where a webhook may be sent (issue 7, hole 2: SSRF).

The partner chooses the URL and the hub's worker, inside the operator's network, calls it.
Unchecked, a partner could aim it at 127.0.0.1, at a database on 10.0.0.5 or at the cloud metadata
service (169.254.169.254) and read from the delivery log what answered. So a destination is refused
when its host is `localhost` (or a name under `.localhost`), or when ANY address the host is or
resolves to is not globally routable: loopback, private (RFC 1918, ULA), link-local, CGNAT,
multicast, unspecified, reserved or documentation ranges, and IPv4-mapped, 6to4 or NAT64 forms of
these. IP literals are read the way resolvers read them (`2130706433`, `0177.0.0.1`, `0x7f.1`,
`127.1`), so no spelling slips past.

The check runs at registration (`partners.redirects.check_webhook_url`) and again at every
delivery, where the resolved addresses are the ones connected to (`resolve` returns them; the
transport never looks the name up again), so a DNS answer that changes between check and
connection (rebinding) cannot redirect the request. `WEBHOOK_ALLOW_PRIVATE` turns the address check
off for development, where the receiver runs on the same machine.
"""

from __future__ import annotations

import contextlib
import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from flask import current_app, has_app_context

Address = IPv4Address | IPv6Address

# Ranges Python's `is_global` (3.11) still calls global although IANA does not.
_NOT_GLOBAL = (IPv4Network("192.0.0.0/24"),)
# NAT64 (RFC 6052): the last 32 bits are the IPv4 address a DNS64 resolver embedded.
_NAT64 = IPv6Network("64:ff9b::/96")
# A host name as it reaches us after registration's IDNA encoding: letters, digits, - _ and dots.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


class DestinationRefused(Exception):
    """The host is, or resolves to, an address webhooks may not go to. The message names the
    address, for the server log; partners see a fixed text."""


class Unresolvable(Exception):
    """The host name did not resolve (no such name, or no DNS here)."""


@dataclass(frozen=True)
class Target:
    """One resolved address, ready for `socket.socket(family).connect(sockaddr)`."""

    family: int
    sockaddr: tuple[str, int] | tuple[str, int, int, int]
    address: Address


def private_allowed() -> bool:
    """The current app's `WEBHOOK_ALLOW_PRIVATE`; off outside an app (the safe default)."""
    return has_app_context() and bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def is_forbidden(address: Address) -> bool:
    """True unless the address is globally routable."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return is_forbidden(address.ipv4_mapped)
        if address in _NAT64:
            return is_forbidden(IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and is_forbidden(address.sixtofour):
            return True
        if address.scope_id or address.is_site_local:
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in network for network in _NOT_GLOBAL)
    )


def ip_literal(host: str) -> Address | None:
    """The address `host` spells, or None when it is a name.

    Besides the usual forms this reads what `inet_aton` and browsers read (RFC 3986 leaves it
    open, the WHATWG URL standard and glibc agree): up to four parts, each decimal, octal (leading
    0) or hex (0x), the last filling the remaining bytes. A host whose last label is a number but
    that is no valid address is refused rather than looked up.
    """
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            raise DestinationRefused(f"{host!r} is not a valid IPv6 address") from None
    parts = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not _NUMBER.match(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMBER.match(part) for part in parts):
        raise DestinationRefused(f"{host!r} is not a valid IPv4 address")
    numbers = [_number(part, host) for part in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise DestinationRefused(f"{host!r} is not a valid IPv4 address")
    value = last
    for position, n in enumerate(leading):
        value += n << (8 * (3 - position))
    return IPv4Address(value)


def _number(part: str, host: str) -> int:
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        return int(part, 8) if len(part) > 1 and part.startswith("0") else int(part)
    except ValueError:  # 08, 09: not octal
        raise DestinationRefused(f"{host!r} is not a valid IPv4 address") from None


def is_localhost_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def resolve(host: str, port: int, *, allow_private: bool) -> list[Target]:
    """Every address `host` stands for, each of them allowed; raise DestinationRefused if any is
    not, Unresolvable if the name does not resolve. One lookup: connect only to what it returns."""
    literal = ip_literal(host)
    if literal is not None:
        addresses = [_target(literal, port)]
    else:
        if not _HOST_NAME.fullmatch(host):
            raise DestinationRefused(f"{host!r} is not a host name")
        if is_localhost_name(host) and not allow_private:
            raise DestinationRefused(f"{host} is this machine")
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise Unresolvable(f"{host}: {error}") from None
        addresses = []
        for _family, _type, _proto, _name, sockaddr in found:
            if not isinstance(sockaddr[0], str):  # not IPv4 or IPv6
                continue
            address = ip_address(sockaddr[0])
            if address not in (target.address for target in addresses):
                addresses.append(_target(address, port))
        if not addresses:
            raise Unresolvable(f"{host}: no IPv4 or IPv6 address")
    if not allow_private:
        refused = [target.address for target in addresses if is_forbidden(target.address)]
        if refused:
            raise DestinationRefused(f"{host} is or resolves to {refused[0]}, not a public address")
    return addresses


def _target(address: Address, port: int) -> Target:
    if isinstance(address, IPv6Address):
        return Target(socket.AF_INET6, (str(address), port, 0, 0), address)
    return Target(socket.AF_INET, (str(address), port), address)


def check_registrable(host: str, port: int, *, allow_private: bool) -> None:
    """Raise DestinationRefused unless the host may be registered: a forbidden literal, or a name
    resolving to any forbidden address, is refused; a name that does not resolve (yet) may be
    registered, and is checked again at every delivery."""
    with contextlib.suppress(Unresolvable):
        resolve(host, port, allow_private=allow_private)
