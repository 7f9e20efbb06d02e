"""What tenancy needs from plans; it asks through settings and never imports billing.

`TENANT_STATEMENT_TIMEOUT_PROVIDER` names `statement_timeout_ms`: tenancy
(`Tenant.context_prefix`) calls it once per tenant instance. `TENANT_PLAN_PROVIDER`
names `plan_for_code`: the plan a new tenant is put on (`tenants.services.tenant_build`).
`TENANT_IMPORT_GUARD` names `import_guard`: what a restore (`tenants.export.tenant_import`)
may leave behind.
"""

from __future__ import annotations

from contextlib import contextmanager

from billing.limits import LIMIT_LABELS, limits_exceeded, plan_lock
from billing.models import Invoice, Plan, Subscription
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


# Billing rows whose state moves on after a backup is taken (plan, status, payment).
_KEPT = (Subscription, Invoice)


def _billing_rows(tenant) -> dict:
    return {
        model: {row["id"]: row for row in model.objects.filter(tenant_id=tenant.pk).values()}
        for model in _KEPT
    }


@contextmanager
def import_guard(tenant, *, recreated: bool = False):
    """Rows restored into `tenant` leave its billing as it is and must fit its plan.

    A backup is older than the billing it meets: its subscription or invoice rows would
    undo a plan change, a cancellation or a payment made since, so the rows in force are
    kept (rows the tenant no longer has are restored). Then, as at every other door, the
    plan, read fresh under the exclusive plan lock (no creation or plan change
    interleaves), must hold the restored usage; otherwise the whole import is refused
    (ImportRefused: nothing is written). A deleted tenant re-created from its backup
    (`recreated`) comes back as it was, on its own plan: like a live tenant whose plan
    was lowered since (update_plan), it is then over it, creations are refused and the
    compliance run reports it; refusing would leave no tenant to change the plan of.
    """
    plan_lock(tenant=tenant)
    before = _billing_rows(tenant)
    yield
    for model, rows in _billing_rows(tenant).items():
        for pk, row in rows.items():
            kept = before[model].get(pk)
            if kept is not None and kept != row:
                model.objects.filter(pk=pk).update(**{k: v for k, v in kept.items() if k != "id"})
    plan = Plan.objects.get(tenants__pk=tenant.pk)
    exceeded = not recreated and limits_exceeded(tenant=tenant, plan=plan)
    if exceeded:
        over = ", ".join(f"{u.usage} {LIMIT_LABELS[u.name]} (limit {u.limit})" for u in exceeded)
        raise ImportRefused(
            f"The backup would leave {tenant.subdomain} over its {plan.name} plan: {over}. "
            "Change the plan first (change_plan), then import; nothing imported."
        )
