"""Webhook endpoints: register, change, rotate the secret, remove (each write audited)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from webhooks import addresses, signing, subscription_cache
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.transactions import both_atomic, delivery_alias


class WebhookError(Exception):
    """A refusal for the person or client registering an endpoint (400, names its field)."""

    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__(message)
        self.field = field


def _clean_events(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise WebhookError("Choose at least one event.", "events")
    unknown = sorted({str(e) for e in events} - set(EventType.values))
    if unknown:
        raise WebhookError(
            f"Unknown event {', '.join(unknown)}. Known events: {', '.join(EventType.values)}.",
            "events",
        )
    return [e for e in EventType.values if e in set(events)]


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        addresses.resolve(url)
    except addresses.AddressRefused as exc:
        raise WebhookError(str(exc), "url") from None
    return url


def subscriptions_changed(tenant) -> None:
    """The tenant's endpoints changed in the current transaction: this process drops its
    cached subscriptions now and again on commit (a fill by another thread in between read
    the old rows); every other process on the trigger's NOTIFY (migration webhooks 0002)."""
    subscription_cache.forget_tenant(tenant.pk)
    transaction.on_commit(
        lambda: subscription_cache.forget_tenant(tenant.pk), using=delivery_alias(), robust=True
    )


def endpoint_list(*, tenant):
    return WebhookEndpoint.objects.filter(tenant_id=tenant.pk).order_by("-created_at", "-id")


def endpoint_create(
    *, tenant, url: str, events, description: str = "", actor=None
) -> WebhookEndpoint:
    """Register an endpoint; its `secret` is on the returned instance (show it once)."""
    url, events = _clean_url(url), _clean_events(events)
    with both_atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant_id=tenant.pk,
            url=url,
            events=events,
            description=(description or "")[:200],
            secret=signing.secret_new(),
        )
        subscriptions_changed(tenant)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="webhook.create",
            target=endpoint,
            data={"host": endpoint.host, "events": events},
        )
    return endpoint


def endpoint_update(*, tenant, endpoint: WebhookEndpoint, actor=None, **changes) -> WebhookEndpoint:
    """Change url, events, description or is_enabled (enabling clears the failure run)."""
    fields = {}
    if "url" in changes:
        fields["url"] = _clean_url(changes.pop("url"))
    if "events" in changes:
        fields["events"] = _clean_events(changes.pop("events"))
    if "description" in changes:
        fields["description"] = (changes.pop("description") or "")[:200]
    if "is_enabled" in changes:
        enabled = bool(changes.pop("is_enabled"))
        fields["is_enabled"] = enabled
        if enabled and not endpoint.is_enabled:
            fields.update(consecutive_failures=0, disabled_at=None, disabled_reason="")
        elif not enabled and endpoint.is_enabled:
            fields.update(disabled_at=timezone.now(), disabled_reason="disabled by an admin")
    if changes:
        raise WebhookError(f"{', '.join(sorted(changes))} cannot be changed.")
    with both_atomic():
        for name, value in fields.items():
            setattr(endpoint, name, value)
        endpoint.save(update_fields=[*fields, "updated_at"])
        if "events" in fields or "is_enabled" in fields:
            subscriptions_changed(tenant)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="webhook.update",
            target=endpoint,
            data={
                **{k: v for k, v in fields.items() if k in ("events", "is_enabled")},
                **({"host": endpoint.host} if "url" in fields else {}),
            },
        )
    return endpoint


def endpoint_rotate_secret(*, tenant, endpoint: WebhookEndpoint, actor=None) -> WebhookEndpoint:
    with both_atomic():
        endpoint.secret = signing.secret_new()
        endpoint.save(update_fields=["secret", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="webhook.rotate_secret", target=endpoint)
    return endpoint


def endpoint_delete(*, tenant, endpoint: WebhookEndpoint, actor=None) -> None:
    with both_atomic():
        audit_record(
            tenant=tenant,
            actor=actor,
            action="webhook.delete",
            target=endpoint,
            data={"host": endpoint.host},
        )
        WebhookAttempt.objects.filter(tenant_id=tenant.pk, delivery__endpoint=endpoint).delete()
        WebhookDelivery.objects.filter(tenant_id=tenant.pk, endpoint=endpoint).delete()
        endpoint.delete()
        subscriptions_changed(tenant)
