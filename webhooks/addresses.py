"""Where a webhook may go: http(s) URLs whose host resolves only to public addresses.

Checked when an endpoint is registered and again at every delivery (DNS can change
between the two); the delivery then connects to the very address it checked, never
resolving twice. Loopback, link-local (cloud metadata at 169.254.169.254), private,
shared, multicast, reserved and unspecified addresses are refused — IPv4-mapped IPv6
included — unless `WEBHOOKS_ALLOW_PRIVATE` is on (tests with a loopback receiver).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000


class AddressRefused(ValueError):
    """The URL or the address its host resolves to may not receive webhooks."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (the Host header, TLS server name)
    port: int
    path: str  # path and query
    address: str  # the checked IP to connect to


# IPv6 forms that carry an IPv4 address a router may translate to: judged by that address.
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052, the well-known prefix
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: embedding varies, refused
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def _ipv4_inside(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48
        return ip.sixtofour
    if ip in NAT64 or ip in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if ip.version == 6:
        if ip in NAT64_LOCAL and not settings.WEBHOOKS_ALLOW_PRIVATE:
            return False
        ip = _ipv4_inside(ip) or ip
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return not ip.is_unspecified and not ip.is_multicast
    # is_global is False for loopback, link-local, private, shared (100.64/10), reserved,
    # documentation and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL, or AddressRefused."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise AddressRefused(
            f"Enter an http:// or https:// URL of at most {MAX_URL_LENGTH} characters."
        )
    url = url.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise AddressRefused("A webhook URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("Enter a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Enter an http:// or https:// URL with a host name.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("A webhook URL may not carry a user name or password.")
    if parts.fragment:
        raise AddressRefused("A webhook URL may not have a #fragment.")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def resolve(url: str) -> Target:
    """Resolve the URL's host; every address it has must be allowed (else AddressRefused)."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise AddressRefused(f"{host} does not resolve.") from None
    addresses = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not _allowed(ip):
            # One refused address refuses the host: a resolver may answer either.
            raise AddressRefused(
                f"{host} resolves to {ip}, a loopback, private, link-local or reserved "
                "address: webhooks go to public addresses only."
            )
        addresses.append(str(ip))
    if not addresses:
        raise AddressRefused(f"{host} does not resolve.")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
