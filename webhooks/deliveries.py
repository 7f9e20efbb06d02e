"""Webhook deliveries: dispatch, attempt, resend, sweep, purge (endpoints: webhooks/endpoints.py).

A delivery is attempted by the `webhooks.deliver` task, in the tenant's scope, with only
its id in the message. Each attempt is claimed (pending → sending) in one short
transaction, sent with no transaction open, and recorded in another: the attempt row,
the delivery's next step (retry at the next point of WEBHOOKS_RETRY_SCHEDULE, or
failed), the endpoint's run of failures and, at WEBHOOKS_DISABLE_AFTER_FAILURES, its
disabling with a mail to the owners (outbox, in that same transaction).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from tenants.celery import task_named
from tenants.context import tenant_scope
from tenants.outbox import outbox_enqueue
from tenants.residency import redact
from tenants.transactions import tenant_atomic
from webhooks import signing, transport
from webhooks.endpoints import WebhookError, subscriptions_changed
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.transactions import both_atomic, delivery_alias

logger = logging.getLogger("webhooks")

USER_AGENT = "Tenantry-Webhooks/1"
# The tasks this module queues, by name: they call back into it (webhooks.tasks).
DELIVER_TASK = "webhooks.deliver"
DISABLED_EMAIL_TASK = "webhooks.send_endpoint_disabled_email"


def delivery_list(*, tenant, endpoint: WebhookEndpoint):
    return WebhookDelivery.objects.filter(tenant_id=tenant.pk, endpoint=endpoint).order_by(
        "-created_at", "-id"
    )


def attempts_of(*, tenant, deliveries) -> dict:
    """{delivery id: [attempts]} for a page of deliveries (one query)."""
    found: dict = {}
    ids = [d.pk for d in deliveries]
    for attempt in WebhookAttempt.objects.filter(tenant_id=tenant.pk, delivery_id__in=ids):
        found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


def _queue(tenant, ids, countdown: float = 0) -> None:
    # After the commit that made the rows pending; a lost message is found by the sweep.
    # By name: the task delivers through this module (webhooks.tasks imports it).
    deliver = task_named(DELIVER_TASK)
    with tenant_scope(tenant):
        for delivery_id in ids:
            try:
                deliver.apply_async(args=[str(delivery_id)], countdown=countdown or None)
            except Exception as exc:
                logger.warning(
                    "webhook delivery %s not queued (%r); the sweep will", delivery_id, exc
                )


def _queue_on_commit(tenant, ids, countdown: float = 0) -> None:
    transaction.on_commit(
        partial(_queue, tenant, list(ids), countdown), using=delivery_alias(), robust=True
    )


def event_dispatch(*, tenant, event_id: str) -> str:
    """One delivery per enabled endpoint subscribed to the event (the outbox runs this once)."""
    event = WebhookEvent.objects.filter(tenant_id=tenant.pk, pk=event_id).first()
    if event is None:
        return "skipped: no such event"
    with transaction.atomic(using=delivery_alias()):
        endpoints = [
            e
            for e in WebhookEndpoint.objects.filter(tenant_id=tenant.pk, is_enabled=True)
            if e.receives(event.type)
        ]
        rows = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                tenant_id=tenant.pk, endpoint=e, event_id=event.pk, event_type=event.type
            )
            for e in endpoints
        )
        _queue_on_commit(tenant, [r.pk for r in rows])
    return f"{len(rows)} deliveries"


def delivery_resend(*, tenant, delivery: WebhookDelivery, actor=None) -> WebhookDelivery:
    """Send the delivery's event to its endpoint again (a new delivery, same webhook-id)."""
    endpoint = delivery.endpoint
    if not endpoint.is_enabled:
        raise WebhookError("The endpoint is disabled: enable it first.")
    if not WebhookEvent.objects.filter(tenant_id=tenant.pk, pk=delivery.event_id).exists():
        raise WebhookError("The event is no longer kept.")
    with both_atomic():
        row = WebhookDelivery.objects.create(
            tenant_id=tenant.pk,
            endpoint=endpoint,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="webhook.resend",
            target=endpoint,
            data={"delivery": str(delivery.pk), "event": str(delivery.event_id)},
        )
        _queue_on_commit(tenant, [row.pk])
    return row


def event_body(event: WebhookEvent) -> bytes:
    payload = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _claim(tenant, delivery_id) -> WebhookDelivery | None:
    with transaction.atomic(using=delivery_alias()):
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(tenant_id=tenant.pk, pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.is_enabled:
            delivery.status, delivery.error = DeliveryStatus.FAILED, "the endpoint is disabled"
            delivery.save(update_fields=["status", "error", "updated_at"])
            return None
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "attempts", "last_attempt_at", "updated_at"])
    return delivery


def retry_schedule() -> list[float]:
    return [float(s) for s in settings.WEBHOOKS_RETRY_SCHEDULE]


def delivery_attempt(*, tenant, delivery_id: str) -> str:
    """Attempt one pending delivery once (the `webhooks.deliver` task)."""
    delivery = _claim(tenant, delivery_id)
    if delivery is None:
        return "skipped: not pending"
    event = WebhookEvent.objects.filter(tenant_id=tenant.pk, pk=delivery.event_id).first()
    if event is None:
        outcome = transport.Outcome(None, "", "the event is no longer kept", 0)
    else:
        endpoint, body = delivery.endpoint, event_body(event)
        headers = signing.headers(endpoint.secret, str(event.pk), int(time.time()), body)
        headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
        outcome = transport.post(endpoint.url, body, headers)
    return _record(tenant, delivery, outcome, final=event is None)


def _record(tenant, delivery: WebhookDelivery, outcome: transport.Outcome, final: bool) -> str:
    schedule = retry_schedule()
    now = timezone.now()
    with both_atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update()
            .filter(tenant_id=tenant.pk, pk=delivery.endpoint_id)
            .first()
        )
        if endpoint is None:
            return "skipped: the endpoint was removed meanwhile"
        WebhookAttempt.objects.create(
            tenant_id=tenant.pk,
            delivery=delivery,
            number=delivery.attempts,
            at=now,
            response_status=outcome.status,
            # The receiver's answer, kept in a global row: addresses never (docs/residency.md).
            response_body=redact(outcome.body),
            error=redact(outcome.error),
            duration_ms=outcome.duration_ms,
        )
        delivery.response_status, delivery.error = outcome.status, redact(outcome.error)
        if outcome.ok:
            delivery.status = DeliveryStatus.SUCCEEDED
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        else:
            if not outcome.error:
                delivery.error = f"the receiver answered {outcome.status}"
            retry = not final and delivery.attempts <= len(schedule)
            if retry:
                delay = schedule[delivery.attempts - 1]
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                if delay <= settings.WEBHOOKS_COUNTDOWN_MAX_SECONDS:
                    _queue_on_commit(tenant, [delivery.pk], countdown=delay)
            else:
                delivery.status = DeliveryStatus.FAILED
            if not final:  # the receiver failed (not our purged event): its run grows
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    consecutive_failures=F("consecutive_failures") + 1
                )
                if endpoint.is_enabled and (
                    endpoint.consecutive_failures + 1 >= settings.WEBHOOKS_DISABLE_AFTER_FAILURES
                ):
                    _disable(tenant, endpoint, delivery)
        delivery.save(
            update_fields=[
                "status",
                "next_attempt_at",
                "response_status",
                "error",
                "updated_at",
            ]
        )
    return delivery.status


def _disable(tenant, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
    reason = (
        f"{settings.WEBHOOKS_DISABLE_AFTER_FAILURES} failed attempts in a row "
        f"(last: {delivery.error or delivery.response_status})"
    )[:300]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    subscriptions_changed(tenant)
    audit_record(
        tenant=tenant,
        actor="system",
        action="webhook.disable",
        target=endpoint,
        data={"host": endpoint.host, "reason": reason},
    )
    outbox_enqueue(DISABLED_EMAIL_TASK, str(endpoint.pk))
    logger.warning("webhook endpoint %s (%s) disabled: %s", endpoint.pk, endpoint.host, reason)


def deliveries_due(*, now=None, limit: int = 1000) -> list[tuple]:
    """(tenant_id, delivery id, lost) of deliveries whose message is overdue, or whose
    attempt never recorded its outcome (the worker died mid-send)."""
    from django.db.models import Q

    from tenants.context import dangerously_unscoped, no_tenant

    now = now or timezone.now()
    grace = timedelta(seconds=settings.WEBHOOKS_SWEEP_GRACE_SECONDS)
    lost = grace + timedelta(
        seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS
    )
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace) | Q(
        status=DeliveryStatus.SENDING, last_attempt_at__lte=now - lost
    )
    # The RLS bypass only finds rows; each is then handled in its own tenant's scope.
    with no_tenant(), dangerously_unscoped("webhook sweep: find due deliveries of every tenant"):
        rows = (
            WebhookDelivery.unscoped.filter(due)
            .order_by("next_attempt_at")
            .values_list("tenant_id", "pk", "status")[:limit]
        )
        return [(t, pk, status == DeliveryStatus.SENDING) for t, pk, status in rows]


def deliveries_sweep(*, now=None) -> dict:
    """Queue every overdue delivery, each in its own tenant's scope (the beat task)."""
    from collections import defaultdict

    from tenants.context import no_tenant
    from tenants.models import Tenant

    by_tenant = defaultdict(list)
    for tenant_id, pk, lost in deliveries_due(now=now):
        by_tenant[tenant_id].append((pk, lost))
    with no_tenant():
        registry = Tenant.objects.select_related("plan").in_bulk(list(by_tenant))
    queued = 0
    for tenant_id, rows in by_tenant.items():
        tenant = registry.get(tenant_id)
        if tenant is None or not tenant.is_active:
            continue  # deleted (its rows go with it), or suspended/moving: they wait
        with tenant_scope(tenant):
            lost = [pk for pk, was_lost in rows if was_lost]
            if lost:
                # At least once: the receiver may have had it (the webhook-id is the same).
                WebhookDelivery.objects.filter(
                    tenant_id=tenant.pk, pk__in=lost, status=DeliveryStatus.SENDING
                ).update(status=DeliveryStatus.PENDING, error="the attempt's outcome was lost")
        _queue(tenant, [pk for pk, _ in rows])
        queued += len(rows)
    return {"queued": queued}


def webhooks_purge(*, tenant, now=None) -> dict:
    """Forget the tenant's events and finished deliveries older than WEBHOOKS_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    with tenant_atomic():
        events, _ = WebhookEvent.objects.filter(tenant_id=tenant.pk, created_at__lt=cutoff).delete()
    with transaction.atomic(using=delivery_alias()):
        finished = WebhookDelivery.objects.filter(
            tenant_id=tenant.pk,
            created_at__lt=cutoff,
            status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED],
        )
        WebhookAttempt.objects.filter(tenant_id=tenant.pk, delivery__in=finished).delete()
        deliveries, _ = finished.delete()
    return {"events": events, "deliveries": deliveries}
