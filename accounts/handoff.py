"""One-time sign-in hand-off from the apex (sign-up) to a tenant host.

Sessions are host-only and stored per tenant, so the apex cannot log anybody
in on `<sub>.<BASE_DOMAIN>`. It signs a short-lived token naming the tenant and
user instead; the tenant host checks the signature, the age, that the tenant
is its own, and that the token's nonce has never been used (recorded in the
global `tenants` cache with `add`, which is atomic in Redis).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import caches

SALT = "accounts.handoff"


def handoff_token_create(*, tenant, user) -> str:
    payload = {"t": str(tenant.pk), "u": str(user.pk), "n": secrets.token_urlsafe(16)}
    return signing.dumps(payload, salt=SALT, compress=True)


def handoff_token_consume(*, tenant, token: str) -> str | None:
    """The user id the token names, if it is valid for `tenant` and not used before."""
    try:
        payload = signing.loads(token or "", salt=SALT, max_age=settings.SIGNUP_HANDOFF_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if payload.get("t") != str(tenant.pk):
        return None
    used_key = f"handoff-used:{payload.get('n')}"
    try:
        fresh = caches["tenants"].add(used_key, 1, timeout=settings.SIGNUP_HANDOFF_MAX_AGE * 2)
    except Exception:
        return None  # cannot prove single use: fail closed, the owner signs in by hand
    if not fresh:
        return None  # replayed
    return payload.get("u")
