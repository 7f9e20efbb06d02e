"""The audit entries of tenancy's own events (tenancy sends signals, never imports audit)."""

from __future__ import annotations

from audit.services import audit_record
from tenants.context import tenant_scope


def record_tenant_status_change(sender, *, tenant, action: str, actor: str, **kwargs) -> None:
    """Suspension and reactivation, in the tenant's own log.

    The reason is operator-only (Tenant.status_reason, the console): the tenant's log
    says what happened and which operator did it, not the internal why.
    """
    with tenant_scope(tenant):
        audit_record(tenant=tenant, actor=actor, action=action)
