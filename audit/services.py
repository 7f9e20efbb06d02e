"""Writing the audit log. Services call this inside their own transaction."""

from audit.models import AuditEvent


def actor_fields(actor) -> dict:
    """How an actor is recorded by value: a user's id and email, a label such as "operator", or "system"."""
    return {
        "actor_id": getattr(actor, "pk", None),
        "actor_label": getattr(actor, "email", None)
        or (actor if isinstance(actor, str) else "system"),
    }


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
