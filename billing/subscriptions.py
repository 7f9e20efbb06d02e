"""Subscriptions and plan changes. Every write is audited."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from audit.services import audit_record
from billing.errors import BillingError, PlanChangeRefused, PlanNeedsOperator
from billing.limits import advisory_xact_lock, forget_limits, limits_exceeded, plan_lock
from billing.models import Plan, PlanChange, Subscription, SubscriptionStatus
from billing.periods import add_months
from billing.signals import plan_changed
from billing.transactions import billing_atomic
from tenants import resolvers
from tenants.actors import is_operator_label
from tenants.models import Tenant
from tenants.outbox import outbox_enqueue
from tenants.residency import redact
from tenants.routers import data_alias
from webhooks.events import event_record

#: The outbox task that starts the move a plan change asks for (billing/tasks.py).
PLAN_MOVE_TASK = "billing.plan_move"


def subscription_start(
    *, tenant, plan: Plan | None = None, now=None, fresh: bool = False
) -> Subscription:
    """The tenant's subscription, created if it has none (idempotent).

    Paid plans start with a trial of BILLING_TRIAL_DAYS (default 14); free
    plans start active. The billing period is one month from now.

    `fresh`: the tenant is being created by the caller (accounts.onboarding), so it
    has no subscription: none is looked for and no lock is taken (two statements
    fewer per sign-up). The one-per-tenant constraint still refuses a second, and
    the refused creation is removed whole.
    """
    now = now or timezone.now()
    plan = plan or Plan.objects.get(pk=tenant.plan_id)
    with billing_atomic(tenant):
        if not fresh:
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


def subscription_locked(tenant) -> Subscription:
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
    isolation backends, started by the plan change's outbox task (billing.tasks.plan_move).
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


def plan_change_actor(actor) -> dict:
    """Who changed the plan, as a billing row records it: an id and a role word, no name.

    Billing rows are global (docs/residency.md): a member is their user id (the address
    lives in the tenant's placement, and so does the audit event naming them) and their
    role; an operator is "operator" (the console's audit entry says which one).
    """
    if getattr(actor, "pk", None) is not None:
        return {"actor_id": actor.pk, "actor_label": getattr(actor, "role", "") or "member"}
    if isinstance(actor, str) and actor:
        return {
            "actor_id": None,
            "actor_label": "operator" if is_operator_label(actor) else redact(actor),
        }
    return {"actor_id": None, "actor_label": "system"}


# Subscription states in which the tenant cannot change plans itself, and what it is told.
SELF_SERVICE_CLOSED = {
    SubscriptionStatus.CANCELED: "Your subscription is cancelled: contact support to change plans.",
    SubscriptionStatus.PAST_DUE: (
        "Your subscription is past due: settle the open invoice (contact support) "
        "before changing plans."
    ),
}


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
    plan and its statement timeout) and billing.signals.plan_changed is sent. A change
    that asks for another placement commits an outbox row for its move job with it.
    """
    offered = Plan.objects.filter(is_public=True) if self_service else Plan.objects.all()
    try:
        new_plan = Plan.objects.get(code=plan_code)
    except Plan.DoesNotExist:
        codes = ", ".join(offered.values_list("code", flat=True))
        raise BillingError(f"Unknown plan {plan_code!r}. Available plans: {codes}.") from None
    now = timezone.now()
    with billing_atomic(tenant):
        plan_lock(tenant=tenant)
        # Plan changes of one tenant are serialised by the plan lock (exclusive) above.
        # The limits kept where the rows live go: no check may confirm the old plan now.
        forget_limits(tenant=tenant)
        row = Tenant.objects.select_related("plan").get(pk=tenant.pk)
        old_plan = row.plan
        subscription = subscription_locked(tenant)
        if old_plan.pk == new_plan.pk and subscription.plan_id == new_plan.pk:
            return subscription
        if self_service and subscription.status in SELF_SERVICE_CLOSED:
            # A cancelled subscription keeps its plan until an operator acts, and an unpaid
            # one is settled first: switching plans (even free and back) must not undo either.
            raise PlanNeedsOperator(SELF_SERVICE_CLOSED[subscription.status])
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
        change = PlanChange.objects.create(
            tenant_id=tenant.pk,
            from_plan=old_plan,
            to_plan=new_plan,
            changed_at=now,
            **plan_change_actor(actor),
        )
        move_to = isolation_target(tenant=row, old_plan=old_plan, new_plan=new_plan)
        if move_to is not None:
            # The move this change asks for is accepted work: an outbox row committed with
            # the change, so a broker that is down now delays the move, never loses it.
            outbox_enqueue(PLAN_MOVE_TASK, change.pk)
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
    with billing_atomic(tenant):
        subscription = subscription_locked(tenant)
        if subscription.status == SubscriptionStatus.CANCELED:
            raise BillingError("The subscription is already canceled.")
        subscription.status = SubscriptionStatus.CANCELED
        subscription.canceled_at = timezone.now()
        subscription.save(update_fields=["status", "canceled_at", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="subscription.cancel", target=subscription)
    return subscription
