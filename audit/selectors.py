"""Reads of the audit log: one tenant's events, filtered by actor, action and date."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_event_list(
    *,
    tenant,
    actor: str = "",
    action: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Newest first. `actor` matches part of the recorded label; dates are UTC and inclusive."""
    events = AuditEvent.objects.filter(tenant_id=tenant.pk)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if action:
        events = events.filter(action=action)
    if since:
        events = events.filter(created_at__date__gte=since)
    if until:
        events = events.filter(created_at__date__lte=until)
    return events.order_by("-created_at")


def audit_actions(*, tenant) -> list[str]:
    """The actions this tenant's log holds, for the filter's choices."""
    return list(
        AuditEvent.objects.filter(tenant_id=tenant.pk)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
