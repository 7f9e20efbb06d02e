"""Plans, as operators edit them."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction

from billing import money
from billing.errors import BillingError
from billing.models import Feature, Plan
from tenants import resolvers
from tenants.control import control_alias
from tenants.models import Tenant

logger = logging.getLogger("billing")

UNSET = object()


def plan_update(
    *,
    code: str,
    max_members=UNSET,
    max_projects=UNSET,
    max_tasks_per_project=UNSET,
    api_requests_per_minute=UNSET,
    statement_timeout_ms=UNSET,
    monthly_price=UNSET,
    add_features=(),
    remove_features=(),
) -> Plan:
    """Edit a plan. Limits: a non-negative int, or None for unlimited.

    Takes effect at once for every tenant on the plan (limit checks read the
    plan fresh; their cached Tenant, which carries the statement timeout, is
    dropped after commit). A tenant in its own database checks against the limits
    kept there while they equal its cached plan: it sees the edit within the
    registry's staleness bound (docs/billing.md). Lowering a limit below a tenant's
    usage is allowed: new creations are blocked, and the compliance run reports it.
    """
    changes: dict = {}
    for name, value in (
        ("max_members", max_members),
        ("max_projects", max_projects),
        ("max_tasks_per_project", max_tasks_per_project),
    ):
        if value is UNSET:
            continue
        if value is not None and (not isinstance(value, int) or value < 0):
            raise BillingError(f"{name} must be a whole number ≥ 0 or unlimited, not {value!r}.")
        changes[name] = value
    for name, value in (
        ("api_requests_per_minute", api_requests_per_minute),
        ("statement_timeout_ms", statement_timeout_ms),
    ):
        if value is UNSET:
            continue
        if not isinstance(value, int) or value < 1:
            raise BillingError(f"{name} must be a whole number ≥ 1, not {value!r}.")
        changes[name] = value
    if monthly_price is not UNSET:
        try:
            price = money.to_decimal(monthly_price, "price")
        except money.MoneyError as exc:
            raise BillingError(str(exc)) from None
        if price < 0 or price != price.quantize(Decimal("0.01")):
            raise BillingError(f"price must be ≥ 0 with at most two decimals, not {price}.")
        changes["monthly_price"] = price
    unknown = sorted(set(add_features) - set(Feature.values))
    if unknown:
        raise BillingError(
            f"Unknown feature {', '.join(unknown)}. Known features: {', '.join(Feature.values)}."
        )

    alias = control_alias(f"updating plan {code}")  # plans are the operator role's to write
    with transaction.atomic(using=alias):
        try:
            plan = Plan.objects.using(alias).select_for_update().get(code=code)
        except Plan.DoesNotExist:
            codes = ", ".join(Plan.objects.values_list("code", flat=True))
            raise BillingError(f"Unknown plan {code!r}. Available plans: {codes}.") from None
        if add_features or remove_features:
            missing = sorted(set(remove_features) - set(plan.features or []))
            if missing:
                raise BillingError(f"{plan.code} does not include {', '.join(missing)}.")
            features = [f for f in plan.features or [] if f not in set(remove_features)]
            features += [f for f in add_features if f not in features]
            if Feature.DEDICATED_DATABASE in features and plan.required_isolation != "database":
                # The plan page would sell what placement does not deliver.
                raise BillingError(
                    f"{plan.code} does not place its tenants in their own database "
                    "(required_isolation): it cannot list dedicated_database."
                )
            changes["features"] = features
        if not changes:
            raise BillingError("Nothing to change: give at least one option.")
        for name, value in changes.items():
            setattr(plan, name, value)
        plan.save(update_fields=list(changes), using=alias)
        subdomains = list(Tenant.objects.filter(plan=plan).values_list("subdomain", flat=True))
        transaction.on_commit(lambda: [resolvers.invalidate(s) for s in subdomains], using=alias)
    logger.info("plan %s updated: %s", plan.code, changes)
    return plan
