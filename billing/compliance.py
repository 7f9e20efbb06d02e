"""The nightly pass over every subscription: expired trials, renewed periods, over-limit tenants."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from billing.limits import LimitUsage, limit_usages
from billing.models import Subscription, SubscriptionStatus
from billing.periods import add_months
from billing.transactions import billing_atomic
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger("billing")


@dataclass
class ComplianceReport:
    trials_expired: list[str] = field(default_factory=list)
    periods_renewed: list[str] = field(default_factory=list)
    over_limit: dict[str, list[LimitUsage]] = field(default_factory=dict)


def plan_compliance_run(*, now=None) -> ComplianceReport:
    """The nightly pass over every tenant's subscription.

    1. A trial that has ended without a payment record: trialing → past_due.
    2. A billing period that has ended (not canceled): rolled forward by whole
       months until it contains `now`.
    3. Tenants whose usage exceeds their plan (an operator lowered a limit):
       reported and logged; they can create nothing more until they are back
       under it, nothing is deleted.
    """
    now = now or timezone.now()
    report = ComplianceReport()
    with dangerously_unscoped("billing compliance run: find due subscriptions"):
        due = list(
            Subscription.unscoped.exclude(status=SubscriptionStatus.CANCELED)
            .filter(
                Q(status=SubscriptionStatus.TRIALING, trial_ends_at__lte=now)
                | Q(current_period_end__lte=now)
            )
            .values_list("tenant_id", flat=True)
        )
    tenants = Tenant.objects.select_related("plan").in_bulk(due)
    for tenant_id in due:
        tenant = tenants.get(tenant_id)
        if tenant is None:
            continue
        with billing_atomic(tenant):
            subscription = Subscription.objects.select_for_update().get(tenant_id=tenant.pk)
            changed = []
            if (
                subscription.status == SubscriptionStatus.TRIALING
                and subscription.trial_ends_at is not None
                and subscription.trial_ends_at <= now
            ):
                subscription.status = SubscriptionStatus.PAST_DUE
                changed.append("status")
                report.trials_expired.append(tenant.subdomain)
                audit_record(
                    tenant=tenant,
                    action="subscription.past_due",
                    target=subscription,
                    data={
                        "reason": "trial ended",
                        "trial_ends_at": subscription.trial_ends_at.isoformat(),
                    },
                )
            if subscription.current_period_end <= now:
                start = subscription.current_period_end
                while add_months(start, 1) <= now:
                    start = add_months(start, 1)
                subscription.current_period_start = start
                subscription.current_period_end = add_months(start, 1)
                changed += ["current_period_start", "current_period_end"]
                report.periods_renewed.append(tenant.subdomain)
            if changed:
                subscription.save(update_fields=[*changed, "updated_at"])

    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).select_related("plan"):
        with tenant_scope(tenant):
            over = [
                u
                for u in limit_usages(tenant=tenant, plan=tenant.plan)
                if u.limit is not None and u.usage > u.limit
            ]
        if over:
            report.over_limit[tenant.subdomain] = over
            logger.warning(
                "tenant %s is over its %s plan: %s", tenant.subdomain, tenant.plan.code, over
            )
    return report
