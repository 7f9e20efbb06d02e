"""Proving that a tenant owns a host name: a DNS TXT record carrying a token.

`_tenantry-challenge.<domain>` must hold the token shown to the tenant's admin.
The nameservers asked are settings.CUSTOM_DOMAIN_NAMESERVERS ("host:port", …) or
the system's resolvers when empty.
"""

from __future__ import annotations

import secrets

import dns.exception
import dns.resolver
from django.conf import settings

from tenants.resolvers import is_domain_name

CHALLENGE_LABEL = "_tenantry-challenge"


class DomainError(Exception):
    """Refused with a message meant for the person asking."""


def normalise(name: str) -> str:
    domain = (name or "").strip().lower().rstrip(".")
    if not domain.isascii() or not is_domain_name(domain):
        raise DomainError("Enter a full host name such as app.example.com.")
    base = settings.BASE_DOMAIN
    if domain == base or domain.endswith("." + base):
        raise DomainError(f"Addresses under {base} are given by the service.")
    return domain


def new_token() -> str:
    return "tntr-verify-" + secrets.token_hex(16)


def challenge_name(domain: str) -> str:
    return f"{CHALLENGE_LABEL}.{domain}"


def _resolver() -> dns.resolver.Resolver:
    servers = settings.CUSTOM_DOMAIN_NAMESERVERS
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        host, _, port = servers[0].rpartition(":")
        resolver.nameservers = [host]
        resolver.port = int(port)
    resolver.lifetime = 3.0
    return resolver


def txt_values(name: str) -> set[str]:
    """The TXT strings published at `name` (empty when none, or DNS does not answer)."""
    try:
        answer = _resolver().resolve(name, "TXT")
    except (dns.exception.DNSException, OSError):
        return set()
    return {b"".join(r.strings).decode(errors="replace") for r in answer}


def owns(domain: str, token: str) -> bool:
    return token in txt_values(challenge_name(domain))
