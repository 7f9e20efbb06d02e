"""A tenant's fair share of its database server: how many transactions it may run at once.

Sent with the context (saas_enter_tenant's slots and wait): every door — web,
API, Celery, a shell — goes through it, so a tenant's heavy reports cannot take
every core of a server its neighbours share. The request-level limit
(observability.fairness) bounds workers; this bounds the database.
"""

from __future__ import annotations

import os

from django.conf import settings

from tenants.sqlstate import has_sqlstate

SQLSTATE = "55T02"  # raised by saas_enter_tenant() when no slot came free in time


def statement_slots() -> tuple[int, int]:
    """(slots, wait_ms) for a tenant transaction; (0, 0) when the share is off."""
    share = settings.TENANT_DB_SHARE
    if share <= 0:
        return 0, 0
    cores = settings.TENANT_DB_SERVER_CORES or os.cpu_count() or 1
    return max(1, int(cores * share)), settings.TENANT_DB_SLOT_WAIT_MS


def is_busy_error(exc: BaseException | None) -> bool:
    """True for the refusal saas_enter_tenant() raises when the tenant is at its share."""
    return has_sqlstate(exc, SQLSTATE)
