"""What tenancy needs from plans; it asks through settings and never imports billing.

`TENANT_STATEMENT_TIMEOUT_PROVIDER` names `statement_timeout_ms`: tenancy
(`Tenant.context_prefix`) calls it once per tenant instance. `TENANT_PLAN_PROVIDER`
names `plan_for_code`: the plan a new tenant is put on (`tenants.services.tenant_build`).
`TENANT_IMPORT_GUARD` names `import_guard`: a restore (`tenants.export.tenant_import`) is held
to the plan.
"""

from __future__ import annotations

from contextlib import contextmanager

from billing.limits import LIMIT_LABELS, limits_exceeded, plan_lock
from billing.models import Plan
from tenants.context import no_tenant
from tenants.export import ImportRefused


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


@contextmanager
def import_guard(tenant, *, recreated: bool = False):
    """Rows restored into a live `tenant` must fit its plan, as at every other door.

    Under the exclusive plan lock (no creation or plan change interleaves) the plan is read
    fresh and the restored usage compared with it: over it, the whole import is refused
    (ImportRefused: nothing is written). The billing in force is kept by the import itself
    (Subscription, Invoice: `restore_over_live = False`). A deleted tenant re-created from
    its backup (`recreated`) comes back as it was, on its own plan: like a live tenant whose
    plan was lowered since (update_plan), it is then over it, creations are refused and the
    compliance run reports it; refusing would leave no tenant to change the plan of.
    """
    plan_lock(tenant=tenant)
    yield
    plan = Plan.objects.get(tenants__pk=tenant.pk)
    exceeded = not recreated and limits_exceeded(tenant=tenant, plan=plan)
    if exceeded:
        over = ", ".join(f"{u.usage} {LIMIT_LABELS[u.name]} (limit {u.limit})" for u in exceeded)
        raise ImportRefused(
            f"The backup would leave {tenant.subdomain} over its {plan.name} plan: {over}. "
            "Change the plan first (change_plan), then import; nothing imported."
        )
