"""Periodic purge of expired idempotency records, tenant by tenant."""

from __future__ import annotations

import logging

from idempotency.services import idempotency_purge
from tenants.celery import fleet_task, for_each_tenant

logger = logging.getLogger("idempotency")


@fleet_task(name="idempotency.purge_expired")
def purge_expired():
    """Each tenant in its own scope (RLS applies): one indexed DELETE per tenant.

    A tenant whose placement is unreachable is skipped, not retried: its keys
    stay unusable-for-replay after expiry anyway (the claim checks expires_at),
    and the next run catches up.
    """
    deleted = failed = 0
    for tenant in for_each_tenant(statuses=("active", "suspended")):
        try:
            deleted += idempotency_purge(tenant=tenant)
        except Exception:
            failed += 1
            logger.warning("idempotency purge failed for %s", tenant.subdomain, exc_info=True)
    return {"deleted": deleted, "failed": failed}
