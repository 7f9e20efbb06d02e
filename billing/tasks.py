"""Billing's periodic fleet tasks (schedule in saas/celery.py)."""

from __future__ import annotations

from billing import compliance, usage
from tenants.celery import fleet_task


@fleet_task(name="billing.usage_rollup", autoretry_for=(Exception,), max_retries=3)
def usage_rollup(period_start: str | None = None, period_end: str | None = None):
    """Roll usage up for the current billing period, every tenant (idempotent upserts)."""
    return _jsonable(usage.usage_rollup_all(period_start=period_start, period_end=period_end))


@fleet_task(name="billing.plan_compliance", autoretry_for=(Exception,), max_retries=3)
def plan_compliance():
    """Nightly: expired trials, tenants over their plan's limits."""
    return _jsonable(compliance.plan_compliance_run())


def _jsonable(value):
    if value is None or isinstance(value, (int, float, str, bool, list, dict)):
        return value
    return str(value)
