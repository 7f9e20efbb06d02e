"""Periodic work of the tenancy layer (schedule in saas/celery.py)."""

from __future__ import annotations

from tenants.celery import fleet_task


@fleet_task(name="tenants.outbox_drain")
def outbox_drain_task():
    """Publish the outbox rows the broker could not take when they were committed."""
    from tenants.outbox import outbox_drain

    return outbox_drain()
