"""Login throttling: counts failures per (tenant, email) and per client IP in the cache.

The `tenants` cache alias is used because its keys are global: the per-IP
counter must add up failures across every tenant host (the `default` alias
scopes keys to the current tenant). Keys carry the tenant id explicitly where
they are per tenant. Messages never say whether the email exists: an unknown
email is counted and locked exactly like a known one.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger("accounts.throttle")

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts. Wait {minutes} minutes, or reset your password, "
    "then try again."
)


def _cache():
    return caches["tenants"]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _keys(scope: str, email: str, ip: str, kind: str) -> tuple[str, str]:
    email_key = f"{kind}-fail:{scope}:{_digest((email or '').strip().lower())}"
    ip_key = f"{kind}-fail-ip:{_digest(ip or '-')}"
    return email_key, ip_key


def client_ip(request) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "") or "-"


def _get(key: str) -> int:
    try:
        return int(_cache().get(key) or 0)
    except Exception:  # the cache is down: do not lock everyone out
        return 0


def is_locked(scope: str, email: str, ip: str, kind: str = "login") -> bool:
    email_key, ip_key = _keys(scope, email, ip, kind)
    return (
        _get(email_key) >= settings.LOGIN_FAILURE_LIMIT
        or _get(ip_key) >= settings.LOGIN_IP_FAILURE_LIMIT
    )


def record_failure(scope: str, email: str, ip: str, kind: str = "login") -> None:
    for key in _keys(scope, email, ip, kind):
        try:
            cache = _cache()
            # add() creates the counter with the lockout window as its lifetime;
            # incr() keeps that lifetime, so the window starts at the first failure.
            if not cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS):
                cache.incr(key)
        except Exception as exc:  # the cache is down: log, never fail the login on it
            logger.warning("login throttle cache unavailable (%s)", exc.__class__.__name__)


def reset(scope: str, email: str, kind: str = "login") -> None:
    email_key, _ = _keys(scope, email, "", kind)
    try:
        _cache().delete(email_key)
    except Exception as exc:
        logger.warning("login throttle cache unavailable (%s)", exc.__class__.__name__)


def locked_message() -> str:
    return LOCKED_MESSAGE.format(minutes=max(1, settings.LOGIN_LOCKOUT_SECONDS // 60))
