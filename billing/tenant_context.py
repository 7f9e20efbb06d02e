"""What tenancy needs from plans; it asks through settings and never imports billing.

`TENANT_STATEMENT_TIMEOUT_PROVIDER` names `statement_timeout_ms`: tenancy
(`Tenant.context_prefix`) calls it once per tenant instance. `TENANT_PLAN_PROVIDER`
names `plan_for_code`: the plan a new tenant is put on (`tenants.services.tenant_build`).
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


DEFAULT_PLAN = "free"


def plan_for_code(code: str | None) -> Plan:
    """The plan a new tenant is put on (`TENANT_PLAN_PROVIDER`); None: the default plan.

    LookupError (one line, the known codes) for an unknown code.
    """
    try:
        return Plan.objects.get(code=code or DEFAULT_PLAN)
    except Plan.DoesNotExist:
        codes = ", ".join(Plan.objects.values_list("code", flat=True))
        raise LookupError(f"Unknown plan {code!r}. Available plans: {codes}.") from None
