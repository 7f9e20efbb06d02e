"""What follows a plan change outside billing's own rows (the move a plan's placement asks for),
and the plan's limits at tenancy's own door (an import)."""

from __future__ import annotations

import logging

logger = logging.getLogger("billing.receivers")


def move_when_plan_requires_another_placement(sender, *, tenant, old_plan, new_plan, **kwargs):
    """A plan that requires (or no longer requires) a dedicated database starts the move.

    The move runs as a background job (it copies data); the tenant keeps being
    served in its current placement until the job switches it.
    """
    from billing.subscriptions import isolation_target
    from jobs.services import QueueUnavailable, job_start

    target = isolation_target(tenant=tenant, old_plan=old_plan, new_plan=new_plan)
    if target is None:
        return
    try:
        job = job_start(
            kind="tenant_move",
            tenant=tenant,
            params={"to": target},
            requested_by=f"plan change {old_plan.code} → {new_plan.code}",
        )
    except QueueUnavailable as exc:
        # The plan change stands; the operator console shows the failed job to retry.
        logger.error("could not queue the move of %s to %s: %s", tenant.subdomain, target, exc)
        return
    logger.info("plan change of %s queued move job %s to %s", tenant.subdomain, job.pk, target)


def refuse_import_over_plan(sender, *, tenant, **kwargs):
    """An import (`import_tenant`) must leave the tenant within its current plan's limits.

    Called inside the import's transaction, after its rows are written: the exclusive plan
    lock holds creations and plan changes until the import commits or rolls back, and the
    counts include what the import wrote. Over a limit, the import is refused whole.
    """
    from billing.limits import LIMIT_LABELS, limits_exceeded, plan_lock
    from billing.models import Plan
    from tenants.export import ImportRefused

    plan_lock(tenant=tenant)
    plan = Plan.objects.get(tenants__pk=tenant.pk)  # fresh: the plan decides now
    exceeded = limits_exceeded(tenant=tenant, plan=plan)
    if exceeded:
        parts = ", ".join(
            f"{LIMIT_LABELS[u.name]}: {u.usage}, {plan.name} allows {u.limit}" for u in exceeded
        )
        raise ImportRefused(
            f"The backup does not fit {tenant.subdomain}'s {plan.name} plan ({parts}); "
            "nothing imported. Change its plan first (change_plan) or raise the plan's "
            "limits (update_plan)."
        )
