"""Writing the audit log. Services call this inside their own transaction."""

import logging

from audit.models import AuditEvent

logger = logging.getLogger("audit")

ACTOR_LABEL_MAX = AuditEvent._meta.get_field("actor_label").max_length


def actor_fields(actor) -> dict:
    """How an actor is recorded by value: the one place that decides.

    An actor is whoever acts now, passed to the service as `actor` (never inferred from
    who owns the object): None → "system"; a string → that label (`operator <who>`,
    "system"); a principal that names itself (`audit_label`, e.g. the API client: the
    token, and the member behind it as `audit_actor_id`); else a member (id and email).
    Anything else (an anonymous user) is recorded as "system" and logged: a write is never
    refused for its audit label.
    """
    if actor is None:
        return {"actor_id": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor_id": None, "actor_label": actor[:ACTOR_LABEL_MAX]}
    label = getattr(actor, "audit_label", None)
    if label:
        return {
            "actor_id": getattr(actor, "audit_actor_id", None),
            "actor_label": label[:ACTOR_LABEL_MAX],
        }
    email = getattr(actor, "email", None)
    if email and getattr(actor, "pk", None) is not None:
        return {"actor_id": actor.pk, "actor_label": email}
    logger.warning("audit: %s is not an actor; recorded as system", type(actor).__name__)
    return {"actor_id": None, "actor_label": "system"}


def audit_record(
    *, tenant, actor=None, action: str, target=None, data: dict | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant_id=tenant.pk,
        **actor_fields(actor),
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
