"""Plan changes. Minimal version for the web UI; the billing issue replaces it at merge."""

from __future__ import annotations

from django.db import transaction

from audit.services import audit_record
from billing.limits import LIMIT_LABELS, usage_summary
from billing.models import Plan
from tenants import resolvers
from tenants.context import tenant_scope


class PlanChangeRefused(Exception):
    """The tenant uses more than the new plan allows; `exceeding` says what, one line each."""

    def __init__(self, plan: str, exceeding: list[str]):
        self.plan, self.exceeding = plan, exceeding
        super().__init__(f"Cannot move to {plan}: " + "; ".join(exceeding) + ".")


def subscription_change_plan(*, tenant, plan_code: str, actor=None) -> Plan:
    try:
        plan = Plan.objects.get(code=plan_code)
    except Plan.DoesNotExist:
        raise PlanChangeRefused(plan_code, ["no such plan"]) from None
    if plan.pk == tenant.plan_id:
        return plan
    exceeding = []
    if plan.required_isolation and plan.required_isolation != tenant.isolation:
        exceeding.append(
            f"it needs a {plan.required_isolation} placement; contact support to move there"
        )
    with tenant_scope(tenant):
        summary = usage_summary(tenant=tenant)
    for item in summary["limits"]:
        new_limit = getattr(plan, item["name"])
        if new_limit is not None and item["usage"] > new_limit:
            label = LIMIT_LABELS.get(item["name"], item["name"])
            exceeding.append(f"you have {item['usage']} {label}, {plan.name} allows {new_limit}")
    if exceeding:
        raise PlanChangeRefused(plan.name, exceeding)

    from tenants.models import Tenant

    old = tenant.plan.code if tenant.plan_id else ""
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(plan=plan)
        transaction.on_commit(lambda: resolvers.invalidate(tenant.subdomain))
    tenant.plan = plan
    tenant.__dict__.pop("context_prefix", None)  # the statement timeout follows the plan
    with tenant_scope(tenant):
        audit_record(
            tenant=tenant,
            actor=actor,
            action="plan.change",
            data={"from": old, "to": plan.code},
        )
    return plan
