"""Subscriptions, plan changes, usage roll-ups, compliance and invoices. Every write is audited."""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import actor_fields, audit_record
from billing import money
from billing.limits import (
    LIMIT_LABELS,
    LimitUsage,
    advisory_xact_lock,
    limit_usages,
    limits_exceeded,
    plan_lock,
)
from billing.models import (
    Feature,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Plan,
    PlanChange,
    Subscription,
    SubscriptionStatus,
    UsageMetric,
    UsageRecord,
)
from billing.signals import plan_changed
from tenants import resolvers
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.control import control_alias
from tenants.models import Tenant, TenantStatus
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic
from webhooks.events import event_record

logger = logging.getLogger("billing")


class BillingError(Exception):
    """Refused with a message meant for the person asking."""


class PlanChangeRefused(BillingError):
    """A downgrade below current usage. Lists every limit the usage exceeds."""

    code = "plan_change_refused"

    def __init__(self, *, plan: Plan, exceeded: list[LimitUsage]):
        self.plan, self.exceeded = plan, exceeded
        parts = ", ".join(
            f"{LIMIT_LABELS[u.name]}: {u.usage} in use, {plan.name} allows {u.limit}"
            for u in exceeded
        )
        super().__init__(
            f"Cannot change to {plan.name}: current usage exceeds its limits ({parts}). "
            "Reduce usage first or choose a larger plan."
        )

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self),
            "plan": self.plan.code,
            "exceeded": [
                {"name": u.name, "limit": u.limit, "usage": u.usage} for u in self.exceeded
            ],
        }


class PlanNeedsOperator(BillingError):
    """A plan the tenant cannot switch to itself: not public, or it needs another placement."""

    code = "plan_needs_operator"


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def _billing_atomic(tenant) -> Iterator[None]:
    """The tenant's scope, a transaction on the tenant's data alias (audit rows, usage counts)
    and one on the main database (billing rows, the tenant row); one when they are the same.

    Entered with `with` from the first step, so a failure at any step — opening the
    tenant database's transaction included — unwinds the scope it entered.
    """
    # Load the plan before entering the scope: Tenant.context_prefix reads it,
    # and a lazy load from inside the scope would need the prefix itself.
    tenant.plan  # noqa: B018
    # The data alias's transaction is the outer one, so it commits last: it
    # holds the plan lock, which must outlive the commit of the plan itself
    # (in the main database), or a creation could read the old plan after a
    # change had compared usage with the new one.
    with (
        tenant_scope(tenant),
        tenant_atomic(),
        transaction.atomic(using=DEFAULT_DB_ALIAS, savepoint=False),
    ):
        yield


def add_months(moment: datetime, months: int) -> datetime:
    """Same day next month(s), clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, add_months(start, 1)


# --- subscriptions ---------------------------------------------------------------------------


def subscription_start(*, tenant, plan: Plan | None = None, now=None) -> Subscription:
    """The tenant's subscription, created if it has none (idempotent).

    Paid plans start with a trial of BILLING_TRIAL_DAYS (default 14); free
    plans start active. The billing period is one month from now.
    """
    now = now or timezone.now()
    plan = plan or Plan.objects.get(pk=tenant.plan_id)
    with _billing_atomic(tenant):
        advisory_xact_lock(DEFAULT_DB_ALIAS, f"{tenant.pk}:subscription")
        existing = Subscription.objects.filter(tenant_id=tenant.pk).first()
        if existing is not None:
            return existing
        trial_days = int(getattr(settings, "BILLING_TRIAL_DAYS", 14))
        trialing = plan.monthly_price > 0 and trial_days > 0
        subscription = Subscription.objects.create(
            tenant_id=tenant.pk,
            plan=plan,
            status=SubscriptionStatus.TRIALING if trialing else SubscriptionStatus.ACTIVE,
            current_period_start=now,
            current_period_end=add_months(now, 1),
            trial_ends_at=now + timedelta(days=trial_days) if trialing else None,
        )
        PlanChange.objects.create(tenant_id=tenant.pk, from_plan=None, to_plan=plan, changed_at=now)
        audit_record(
            tenant=tenant,
            action="subscription.start",
            target=subscription,
            data={"plan": plan.code, "status": subscription.status},
        )
        return subscription


def _subscription_locked(tenant) -> Subscription:
    subscription = Subscription.objects.select_for_update().filter(tenant_id=tenant.pk).first()
    if subscription is None:  # a tenant from before subscriptions: start one on its current plan
        subscription = subscription_start(
            tenant=tenant, plan=Plan.objects.get(tenants__pk=tenant.pk)
        )
    return subscription


def isolation_target(*, tenant, old_plan: Plan, new_plan: Plan) -> str | None:
    """The isolation mode a plan change asks the tenant to move to, or None.

    Moving onto a plan that requires a placement the tenant lacks: that
    placement. Leaving a plan whose required placement the tenant has, for one
    that requires none: the deployment default. The move itself belongs to the
    isolation backends (a receiver of billing.signals.plan_changed).
    """
    if new_plan.required_isolation:
        return (
            new_plan.required_isolation if new_plan.required_isolation != tenant.isolation else None
        )
    default = settings.TENANT_DEFAULT_ISOLATION
    if old_plan.required_isolation and tenant.isolation == old_plan.required_isolation:
        return default if default != tenant.isolation else None
    return None


def plan_self_service_refusal(
    *, tenant, plan: Plan, current_plan: Plan | None = None
) -> str | None:
    """Why the tenant cannot switch to `plan` by itself, or None when it may.

    Self-service covers the public plans that keep the tenant in its placement.
    A plan that is not public, or one that would move the tenant (onto a dedicated
    database, or back out of one), is an operator action: the console or `change_plan`.
    """
    if not plan.is_public:
        return "This plan is not offered here: contact support to discuss it."
    if isolation_target(tenant=tenant, old_plan=current_plan or tenant.plan, new_plan=plan):
        return (
            f"The {plan.name} plan moves your organisation to another database: "
            "contact support and we plan the move with you."
        )
    return None


def subscription_change_plan(
    *, tenant, plan_code: str, actor=None, self_service: bool = False
) -> Subscription:
    """Move the tenant to another plan, at once. A downgrade below current usage is refused.

    `self_service=True` is the tenant's own door (the billing page): only plans that
    plan_self_service_refusal() allows; operators call without it.

    Serialised with every in-flight creation by the tenant's plan lock: usage
    cannot grow between the comparison and the commit. On success: tenant.plan
    and the subscription change, a PlanChange and an audit row are written, and
    after commit the tenant cache is invalidated (the cached Tenant carries the
    plan and its statement timeout) and billing.signals.plan_changed is sent.
    """
    offered = Plan.objects.filter(is_public=True) if self_service else Plan.objects.all()
    try:
        new_plan = Plan.objects.get(code=plan_code)
    except Plan.DoesNotExist:
        codes = ", ".join(offered.values_list("code", flat=True))
        raise BillingError(f"Unknown plan {plan_code!r}. Available plans: {codes}.") from None
    now = timezone.now()
    with _billing_atomic(tenant):
        plan_lock(tenant=tenant)
        # Plan changes of one tenant are serialised by the plan lock (exclusive) above.
        row = Tenant.objects.select_related("plan").get(pk=tenant.pk)
        old_plan = row.plan
        subscription = _subscription_locked(tenant)
        if old_plan.pk == new_plan.pk and subscription.plan_id == new_plan.pk:
            return subscription
        # Decided on the locked row: the placement it compares cannot change underneath.
        refusal = self_service and plan_self_service_refusal(
            tenant=row, plan=new_plan, current_plan=old_plan
        )
        if refusal:
            raise PlanNeedsOperator(refusal)
        exceeded = limits_exceeded(tenant=tenant, plan=new_plan)
        if exceeded:
            raise PlanChangeRefused(plan=new_plan, exceeded=exceeded)

        subscription.plan = new_plan
        if new_plan.monthly_price == 0:
            # Nothing to pay: no trial to run out, nothing to be late with.
            subscription.status = SubscriptionStatus.ACTIVE
            subscription.trial_ends_at = None
        subscription.save(update_fields=["plan", "status", "trial_ends_at", "updated_at"])
        PlanChange.objects.create(
            tenant_id=tenant.pk,
            from_plan=old_plan,
            to_plan=new_plan,
            changed_at=now,
            **actor_fields(actor),
        )
        move_to = isolation_target(tenant=row, old_plan=old_plan, new_plan=new_plan)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="plan.change",
            target=subscription,
            data={"from": old_plan.code, "to": new_plan.code, "isolation_move_to": move_to},
        )
        event_record(
            tenant=tenant,
            type="plan.changed",
            data={"from": old_plan.code, "to": new_plan.code, "changed_at": now},
        )
        # The registry is read-only for the app role; this narrow function changes the
        # plan of the tenant in context only, in this transaction (under the plan lock).
        with connections[DEFAULT_DB_ALIAS].cursor() as cur:
            cur.execute("SELECT public.saas_tenant_set_plan(%s)", [new_plan.pk])
            if cur.fetchone()[0] != 1:
                raise BillingError(f"{tenant.subdomain}'s plan could not be changed.")
        # The caller's instance follows at once (its next statement carries the
        # new statement timeout); every cached copy is dropped after commit.
        tenant.plan = new_plan
        tenant.__dict__.pop("context_prefix", None)
        subdomain = tenant.subdomain
        transaction.on_commit(lambda: resolvers.invalidate(subdomain), using=DEFAULT_DB_ALIAS)
        # After the outer transaction (the tenant's data alias, holding the plan lock
        # and its context) has committed too: a move started by a receiver must not
        # wait for a transaction of this very call.
        transaction.on_commit(
            lambda: plan_changed.send(
                sender=Plan, tenant=tenant, old_plan=old_plan, new_plan=new_plan
            ),
            using=data_alias(tenant),
        )
    return subscription


def subscription_cancel(*, tenant, actor=None) -> Subscription:
    """Cancel at once: the tenant keeps its data and plan until an operator acts."""
    with _billing_atomic(tenant):
        subscription = _subscription_locked(tenant)
        if subscription.status == SubscriptionStatus.CANCELED:
            raise BillingError("The subscription is already canceled.")
        subscription.status = SubscriptionStatus.CANCELED
        subscription.canceled_at = timezone.now()
        subscription.save(update_fields=["status", "canceled_at", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="subscription.cancel", target=subscription)
    return subscription


# --- plans (operators) -----------------------------------------------------------------------

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
    dropped after commit). Lowering a limit below a tenant's usage is allowed:
    new creations are blocked, and the compliance run reports the tenant.
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


# --- usage -----------------------------------------------------------------------------------


def _usage_counts(tenant) -> dict[str, int]:
    from accounts.models import User
    from projects.models import Project, Task

    return {
        UsageMetric.MEMBERS: User.objects.filter(tenant_id=tenant.pk, is_active=True).count(),
        UsageMetric.PROJECTS: Project.objects.filter(tenant_id=tenant.pk).count(),
        UsageMetric.TASKS: Task.objects.filter(tenant_id=tenant.pk).count(),
    }


def usage_rollup(*, tenant, period_start, period_end) -> list[UsageRecord]:
    """Snapshot members, projects and tasks into the period's usage records (an upsert).

    Running it again for the same period overwrites the quantities: the last
    run of a period holds its final figure, and retries never double-count.
    """
    if period_end <= period_start:
        raise BillingError("The period must end after it starts.")
    with _billing_atomic(tenant):
        counts = _usage_counts(tenant)
        now = timezone.now()
        records = [
            UsageRecord(
                tenant_id=tenant.pk,
                metric=metric,
                quantity=quantity,
                period_start=period_start,
                period_end=period_end,
                recorded_at=now,
            )
            for metric, quantity in counts.items()
        ]
        UsageRecord.objects.bulk_create(
            records,
            update_conflicts=True,
            unique_fields=["tenant_id", "metric", "period_start", "period_end"],
            update_fields=["quantity", "recorded_at"],
        )
    return records


def usage_rollup_all(*, period_start=None, period_end=None) -> dict:
    """usage_rollup for every active tenant, each in its own scope and transaction.

    Default period: the current calendar month (UTC). One tenant's failure is
    logged and reported, never stops the others.
    """
    if period_start is None or period_end is None:
        period_start, period_end = month_bounds(timezone.now())
    done, failed = 0, []
    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).select_related("plan"):
        try:
            usage_rollup(tenant=tenant, period_start=period_start, period_end=period_end)
            done += 1
        except Exception:
            logger.exception("usage roll-up failed for %s", tenant.subdomain)
            failed.append(tenant.subdomain)
    return {
        "period_start": period_start,
        "period_end": period_end,
        "tenants": done,
        "failed": failed,
    }


# --- nightly compliance ----------------------------------------------------------------------


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
        with _billing_atomic(tenant):
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


# --- invoices --------------------------------------------------------------------------------


def _next_invoice_number(tenant, now) -> str:
    # Sequential per tenant; the lock keeps two concurrent invoices from taking one number.
    advisory_xact_lock(DEFAULT_DB_ALIAS, f"{tenant.pk}:invoice-number")
    count = Invoice.objects.filter(tenant_id=tenant.pk).count()
    return f"{now:%Y}-{count + 1:05d}"


def invoice_create(
    *,
    tenant,
    tax_rate,
    currency: str | None = None,
    period_start=None,
    period_end=None,
    lines=(),
    actor=None,
) -> Invoice:
    """A draft invoice, with optional lines given as (description, quantity, unit_price)."""
    try:
        rate = money.tax_rate_value(tax_rate)
        currency = (currency or Plan.objects.get(pk=tenant.plan_id).currency).upper()
        money.minor_unit(currency)
    except money.MoneyError as exc:
        raise BillingError(str(exc)) from None
    now = timezone.now()
    with _billing_atomic(tenant):
        invoice = Invoice.objects.create(
            tenant_id=tenant.pk,
            number=_next_invoice_number(tenant, now),
            currency=currency,
            tax_rate=rate,
            period_start=period_start,
            period_end=period_end,
        )
        for description, quantity, unit_price in lines:
            invoice_add_line(
                tenant=tenant,
                invoice=invoice,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
            )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="invoice.create",
            target=invoice,
            data={"number": invoice.number},
        )
    return invoice


def _recompute(invoice: Invoice) -> None:
    amounts = InvoiceLine.objects.filter(invoice=invoice).values_list("amount", flat=True)
    invoice.subtotal, invoice.tax, invoice.total = money.totals(
        amounts, invoice.tax_rate, invoice.currency
    )
    invoice.save(update_fields=["subtotal", "tax", "total"])


def invoice_add_line(
    *, tenant, invoice: Invoice, description: str, quantity, unit_price
) -> InvoiceLine:
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(
            f"Invoice {invoice.number} is {invoice.status}: only drafts take new lines."
        )
    try:
        amount = money.line_amount(quantity, unit_price, invoice.currency)
        quantity, unit_price = money.to_decimal(quantity), money.to_decimal(unit_price)
    except money.MoneyError as exc:
        raise BillingError(str(exc)) from None
    if quantity <= 0:
        raise BillingError("A line's quantity must be positive.")
    with _billing_atomic(tenant):
        line = InvoiceLine.objects.create(
            tenant_id=tenant.pk,
            invoice=invoice,
            description=description,
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
            position=InvoiceLine.objects.filter(invoice=invoice).count(),
        )
        _recompute(invoice)
    return line


def invoice_finalize(*, tenant, invoice: Invoice, actor=None) -> Invoice:
    """draft → open: the lines and totals are fixed from now on."""
    with _billing_atomic(tenant):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.DRAFT:
            raise BillingError(f"Invoice {invoice.number} is {invoice.status}, not a draft.")
        if not InvoiceLine.objects.filter(invoice=invoice).exists():
            raise BillingError(f"Invoice {invoice.number} has no lines.")
        _recompute(invoice)
        invoice.status, invoice.issued_at = InvoiceStatus.OPEN, timezone.now()
        invoice.save(update_fields=["status", "issued_at"])
        audit_record(tenant=tenant, actor=actor, action="invoice.finalize", target=invoice)
    return invoice


def invoice_mark_paid(
    *, tenant, invoice: Invoice, external_payment_reference: str, actor=None
) -> Invoice:
    """open → paid, recording the payment provider's reference. Card data is refused, never stored."""
    reference = (external_payment_reference or "").strip()
    if not reference:
        raise BillingError("A payment needs the payment provider's reference.")
    if money.looks_like_card_number(reference):
        raise BillingError(
            "That looks like a card number. Store the provider's payment reference instead."
        )
    with _billing_atomic(tenant):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.OPEN:
            raise BillingError(
                f"Invoice {invoice.number} is {invoice.status}: only open invoices can be paid."
            )
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, timezone.now()
        invoice.external_payment_reference = reference
        invoice.save(update_fields=["status", "paid_at", "external_payment_reference"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="invoice.paid",
            target=invoice,
            data={"reference": reference},
        )
    return invoice


def invoice_void(*, tenant, invoice: Invoice, actor=None) -> Invoice:
    with _billing_atomic(tenant):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
            raise BillingError(
                f"Invoice {invoice.number} is {invoice.status} and cannot be voided."
            )
        invoice.status, invoice.voided_at = InvoiceStatus.VOID, timezone.now()
        invoice.save(update_fields=["status", "voided_at"])
        audit_record(tenant=tenant, actor=actor, action="invoice.void", target=invoice)
    return invoice


def invoice_for_period(*, tenant, tax_rate, actor=None) -> Invoice:
    """An open invoice for the subscription's current period at its plan's monthly price."""
    with _billing_atomic(tenant):
        subscription = _subscription_locked(tenant)
        plan = subscription.plan
        invoice = invoice_create(
            tenant=tenant,
            tax_rate=tax_rate,
            currency=plan.currency,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
            lines=[
                (
                    f"{plan.name} plan, {subscription.current_period_start:%Y-%m-%d} – "
                    f"{subscription.current_period_end:%Y-%m-%d}",
                    1,
                    plan.monthly_price,
                )
            ],
            actor=actor,
        )
        return invoice_finalize(tenant=tenant, invoice=invoice, actor=actor)
