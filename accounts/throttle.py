"""Sign-in throttling: a growing delay per (account, client address), counted in PostgreSQL.

Two counters per attempt, both in `LoginFailure` (main database, one row per key):
the account as seen from one client address (kind, scope, email, IP) and the
address across every account of one scope — one tenant, or the operator console —
(kind, scope, IP): failures at one organisation never slow sign-in at another. The first
LOGIN_FAILURE_LIMIT / LOGIN_IP_FAILURE_LIMIT failures are free; after that the
next attempt waits LOGIN_DELAY_SECONDS, doubled at each further failure up to
LOGIN_DELAY_MAX_SECONDS. An attempt made while waiting is refused before the
password is checked and is not counted, so the delay grows only with real
guesses. A counter is forgotten LOGIN_FAILURE_WINDOW_SECONDS after its last
failure; a successful sign-in (or password reset) clears the account's counter
for that address.

Why a delay and not a lock: a lock is a lever to keep anyone out (five wrong
passwords for someone else's email). A delay is bounded, and it binds the
address that made the failures: the account's owner elsewhere is not affected,
and even behind the attacker's address the right password goes through once the
delay has passed.

Why PostgreSQL and not the cache: with Redis down a cache-based throttle counts
nothing (it failed open), and a per-process fallback multiplies the budget by the
number of workers. PostgreSQL is always there (the request could not be served
otherwise) and one upsert is cheap next to the password hash a failure costs.

Messages never say whether the email exists: unknown emails are counted and
delayed exactly like known ones.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from accounts.models import LoginFailure

WAIT_MESSAGE = (
    "Too many failed sign-in attempts from here. Try again in {wait}, or reset your password."
)
# One failure in this many also deletes forgotten counters (no periodic job needed).
PURGE_ONE_IN = 200


def client_ip(request) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "") or "-"


def _digest(*parts: str) -> str:
    # Keyed (HMAC with SECRET_KEY): the counters are global rows, and a plain hash of an
    # address could be confirmed by anyone who guesses it (docs/residency.md).
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _keys(scope: str, email: str, ip: str, kind: str) -> tuple[str, str]:
    email = (email or "").strip().lower()
    # The address's own counter is per scope (one tenant, or the operator console):
    # failures at one organisation never slow sign-in at another, or for operators.
    return _digest(kind, "account", scope, email, ip or "-"), _digest(kind, "ip", scope, ip or "-")


def _alias() -> str:
    return router.db_for_write(LoginFailure) or "default"


def _window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def _delay(failures: int, free: int) -> float:
    """Seconds to wait after the last failure, once `failures` reached the free allowance."""
    if failures < free:
        return 0.0
    return min(
        settings.LOGIN_DELAY_SECONDS * 2 ** min(failures - free, 32),
        settings.LOGIN_DELAY_MAX_SECONDS,
    )


def wait_seconds(scope: str, email: str, ip: str, kind: str = "login") -> int:
    """Whole seconds before the next attempt may be checked; 0 when it may be now."""
    account_key, ip_key = _keys(scope, email, ip, kind)
    now = timezone.now()
    allowance = {
        account_key: settings.LOGIN_FAILURE_LIMIT,
        ip_key: settings.LOGIN_IP_FAILURE_LIMIT,
    }
    wait = 0.0
    for row in LoginFailure.objects.using(_alias()).filter(key__in=list(allowance)):
        elapsed = (now - row.last_failure_at).total_seconds()
        if elapsed >= _window().total_seconds():
            continue  # forgotten
        wait = max(wait, _delay(row.failures, allowance[row.key]) - elapsed)
    return math.ceil(wait) if wait > 0 else 0


def record_failure(scope: str, email: str, ip: str, kind: str = "login") -> None:
    now = timezone.now()
    forgotten = now - _window()
    table = LoginFailure._meta.db_table
    with connections[_alias()].cursor() as cur:
        for key in _keys(scope, email, ip, kind):
            # One statement, so concurrent failures from several processes all count.
            cur.execute(
                f"INSERT INTO {table} AS f (key, failures, last_failure_at) VALUES (%s, 1, %s) "
                "ON CONFLICT (key) DO UPDATE SET "
                "failures = CASE WHEN f.last_failure_at < %s THEN 1 ELSE f.failures + 1 END, "
                "last_failure_at = EXCLUDED.last_failure_at",
                [key, now, forgotten],
            )
        if secrets.randbelow(PURGE_ONE_IN) == 0:
            cur.execute(f"DELETE FROM {table} WHERE last_failure_at < %s", [forgotten])


def record_success(scope: str, email: str, ip: str, kind: str = "login") -> None:
    """Clear the account's counter for this address (the address's own counter stays)."""
    account_key, _ = _keys(scope, email, ip, kind)
    LoginFailure.objects.using(_alias()).filter(key=account_key).delete()


def wait_message(seconds: int) -> str:
    if seconds < 120:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        wait = f"{math.ceil(seconds / 60)} minutes"
    return WAIT_MESSAGE.format(wait=wait)
