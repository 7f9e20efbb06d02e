"""What follows a plan change outside billing's own rows: the move a plan's placement asks for."""

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
