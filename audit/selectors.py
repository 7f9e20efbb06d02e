"""Reading the audit log."""

from audit.models import AuditEvent


def audit_event_list(*, tenant):
    return AuditEvent.objects.filter(tenant_id=tenant.pk)
