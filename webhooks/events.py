"""Recording events: called by product services inside the transaction of their change.

`event_record` writes the event (in the tenant's placement, with the change) and an
outbox row for `webhooks.dispatch`: both commit or roll back with the change. With no
enabled endpoint subscribed to the type nothing is written. Which types the tenant's
endpoints receive comes from this process's cache (webhooks.subscription_cache: bounded,
dropped on change), else one indexed read of the endpoints.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from webhooks import subscription_cache
from webhooks.models import EventType, WebhookEndpoint, WebhookEvent


def _subscribed(tenant, event_type: str) -> bool:
    types = subscription_cache.get(tenant.pk)
    if types is None:
        read_at = subscription_cache.read_time()  # before the query: see subscription_cache.put
        lists = WebhookEndpoint.objects.filter(tenant_id=tenant.pk, is_enabled=True).values_list(
            "events", flat=True
        )
        types = frozenset(
            t for events in lists if isinstance(events, list) for t in events if isinstance(t, str)
        )
        subscription_cache.put(tenant.pk, types, read_at)
    return event_type in types


def event_record(*, tenant, type: str, data: dict) -> WebhookEvent | None:
    """Record `type` with `data` (JSON-able after DjangoJSONEncoder) for the tenant's endpoints."""
    from tenants.outbox import outbox_enqueue
    from webhooks.tasks import dispatch

    if type not in EventType.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    if not _subscribed(tenant, type):
        return None
    event = WebhookEvent.objects.create(
        tenant_id=tenant.pk, type=type, data=json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    )
    outbox_enqueue(dispatch, str(event.pk))
    return event


def project_data(project) -> dict:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "created_by": project.created_by_id,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
    }


def task_data(task) -> dict:
    return {
        "id": task.pk,
        "project": task.project_id,
        "title": task.title,
        "status": task.status,
        "assignee": task.assignee_id,
        "due_date": task.due_date,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def member_data(user) -> dict:
    return {"id": user.pk, "email": user.email, "name": user.name, "role": user.role}
