"""Billing's tasks: the periodic fleet tasks (schedule in saas/celery.py) and a plan change's move."""

from __future__ import annotations

import logging

from billing import compliance, usage
from tenants.celery import fleet_task
from tenants.context import get_current_tenant
from tenants.outbox import outbox_task

logger = logging.getLogger("billing.tasks")


@outbox_task(name="billing.plan_move")
def plan_move(plan_change_id: str):
    """Queue the `tenant_move` job a committed plan change asks for (its outbox row: run once).

    Decided now, from the change and the tenant's current row: a later plan change has
    queued its own move, and a tenant already in the asked placement needs none.
    """
    from billing.models import PlanChange
    from billing.subscriptions import isolation_target
    from jobs.services import JobError, job_start

    tenant = get_current_tenant()  # read from the registry at the start of this run
    change = (
        PlanChange.objects.select_related("from_plan", "to_plan")
        .filter(tenant_id=tenant.pk, pk=plan_change_id)
        .first()
    )
    if change is None:
        return "skipped: no such plan change"
    if tenant.plan_id != change.to_plan_id:
        return "skipped: a later plan change decides the placement"
    old_plan = change.from_plan or change.to_plan  # a first plan: nothing to leave
    target = isolation_target(tenant=tenant, old_plan=old_plan, new_plan=change.to_plan)
    if target is None:
        return "skipped: the tenant is already where its plan asks"
    requested_by = f"plan change {change.from_plan.code} → {change.to_plan.code}"
    try:
        job = job_start(
            kind="tenant_move", tenant=tenant, params={"to": target}, requested_by=requested_by
        )
    except JobError as exc:
        logger.error("could not queue the move of %s to %s: %s", tenant.subdomain, target, exc)
        raise
    logger.info("plan change of %s queued move job %s to %s", tenant.subdomain, job.pk, target)
    return f"queued move job {job.pk} to {target}"


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
