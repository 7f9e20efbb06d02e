"""One-time sign-in hand-off from the apex (sign-up) to a tenant host.

Sessions are host-only and stored per tenant, so the apex cannot log anybody
in on `<sub>.<BASE_DOMAIN>`. It signs a short-lived token naming the tenant and
user instead; the tenant host checks the signature, the age, that the tenant
is its own, and that the token's nonce has never been used (a unique insert in
the main database: single use in every process, with or without Redis).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from accounts.models import HandoffUse

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
    nonce = str(payload.get("n") or "")[:64]
    if not nonce:
        return None
    now = timezone.now()
    table = HandoffUse._meta.db_table
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (nonce, used_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [nonce, now],
        )
        fresh = cur.rowcount == 1
        cur.execute(
            f"DELETE FROM {table} WHERE used_at < %s",
            [now - timedelta(seconds=settings.SIGNUP_HANDOFF_MAX_AGE * 2)],
        )
    if not fresh:
        return None  # replayed
    return payload.get("u")
