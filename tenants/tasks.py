"""Periodic work of the tenancy layer (schedule in saas/celery.py)."""

from __future__ import annotations

from tenants.celery import fleet_task


@fleet_task(name="tenants.outbox_drain")
def outbox_drain_task():
    """Publish the outbox rows the broker could not take when they were committed."""
    from tenants.outbox import outbox_drain

    return outbox_drain()


@fleet_task(name="tenants.spares_refill")
def spares_refill_task(server: str | None = None):
    """Top a server's spare placements (every active server's: None) up to TENANT_SPARES,
    dropping the ones a migration made stale first."""
    from tenants.backends.refill import refill, retire
    from tenants.models import DatabaseServer

    target = DatabaseServer.objects.filter(name=server).first() if server else None
    if server and target is None:
        return {}
    retire(target)
    return refill(target)
