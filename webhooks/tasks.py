"""Webhook tasks: dispatch (from the outbox), deliver (one attempt), the sweep, the owners' mail.

Every message carries ids only and runs in the tenant its header names
(tenants.celery): a delivery task reads its delivery, event and endpoint inside
that tenant's scope, under RLS, so it can never send another tenant's payload.
"""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.urls import reverse

from accounts.emails import webhook_disabled_email_send
from accounts.models import Role, User
from tenants.celery import fleet_task, for_each_tenant
from tenants.context import require_current_tenant
from tenants.links import tenant_url
from tenants.outbox import outbox_task
from webhooks import deliveries
from webhooks.models import WebhookEndpoint

MAIL_ERRORS = (smtplib.SMTPException, OSError)


@outbox_task(name="webhooks.dispatch")
def dispatch(event_id: str) -> str:
    return deliveries.event_dispatch(tenant=require_current_tenant(), event_id=event_id)


@shared_task(name=deliveries.DELIVER_TASK)
def deliver(delivery_id: str) -> str:
    return deliveries.delivery_attempt(tenant=require_current_tenant(), delivery_id=delivery_id)


@fleet_task(name="webhooks.sweep")
def sweep() -> dict:
    """Deliveries whose message was lost or whose retry is due beyond a countdown."""
    return deliveries.deliveries_sweep()


@outbox_task(name=deliveries.DISABLED_EMAIL_TASK, autoretry_for=MAIL_ERRORS, max_retries=6)
def send_endpoint_disabled_email(endpoint_id: str) -> str:
    tenant = require_current_tenant()
    endpoint = WebhookEndpoint.objects.filter(tenant_id=tenant.pk, pk=endpoint_id).first()
    if endpoint is None or endpoint.is_enabled:
        return "skipped: removed or enabled again"
    owners = list(
        User.objects.filter(tenant_id=tenant.pk, role=Role.OWNER, is_active=True).values_list(
            "email", flat=True
        )
    )
    if not owners:
        return "skipped: no owner"
    webhook_disabled_email_send(
        tenant=tenant,
        emails=owners,
        host=endpoint.host,
        reason=endpoint.disabled_reason,
        manage_url=tenant_url(
            tenant, reverse("webhook_detail", args=[endpoint.pk], urlconf="saas.urls_tenant")
        ),
    )
    return "sent"


@fleet_task(name="webhooks.purge")
def purge() -> dict:
    """Daily: each tenant's webhook events and finished deliveries past their retention."""
    totals = {"events": 0, "deliveries": 0}
    for tenant in for_each_tenant(statuses=("active", "suspended")):
        for name, count in deliveries.webhooks_purge(tenant=tenant).items():
            totals[name] += count
    return totals
