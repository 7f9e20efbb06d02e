"""What a tenant's plan puts on its transactions; tenancy asks through a setting.

`TENANT_STATEMENT_TIMEOUT_PROVIDER` names `statement_timeout_ms`: tenancy
(`Tenant.context_prefix`) calls it once per tenant instance and never imports
billing.
"""

from __future__ import annotations

from billing.models import Plan
from tenants.context import no_tenant


def statement_timeout_ms(tenant) -> int | None:
    """The tenant's plan's statement timeout (ms), None without a plan."""
    if not tenant.plan_id:
        return None
    if type(tenant).plan.is_cached(tenant):
        plan = tenant.plan
    else:
        # Loading the plan is itself a query, and every query asks for this
        # prefix: look it up with no tenant in context.
        with no_tenant():
            plan = Plan.objects.filter(pk=tenant.plan_id).first()
    return getattr(plan, "statement_timeout_ms", None)
