"""Deleting a tenant: back it up, refuse its hosts, remove its placement, then its records.

Until the fence nothing is removed, and a failure up to there puts the tenant back in the
status it had (the message says which). From the fence on, every step is idempotent: a
failure leaves the tenant `deleting` (not served), and running the deletion again finishes it.
"""

from __future__ import annotations

import time

from django.db import transaction

from tenants import fence, resolvers
from tenants.backends import backend_for
from tenants.control import control_alias
from tenants.errors import TenantError
from tenants.forget import tenant_forget
from tenants.models import OPEN_MOVE_PHASES, Tenant, TenantMove, TenantStatus
from tenants.residency import error_summary
from tenants.routers import OPERATOR_ALIAS


def tenant_delete(*, tenant: Tenant, backup_to: str | None = None, reserve: bool = True) -> dict:
    """Delete a tenant: (back up,) refuse its hosts, remove its placement, then its records.

    `backup_to`: write the operator backup there first (tenants.backup; 0600).
    `reserve`: keep the subdomain for TENANT_DELETED_RETENTION_DAYS, so old links
    never reach a new organisation (released early by `release_subdomain`).
    Returns {"backup": path or None, "rows": rows backed up, "reserved_until": datetime
    or None}. The tenant's hosts answer 404 from the first step on.
    """
    if (
        TenantMove.objects.using(OPERATOR_ALIAS)
        .filter(tenant_id=tenant.pk, phase__in=OPEN_MOVE_PHASES)
        .exists()
    ):
        # An online move captures the tenant's changes with triggers on its source:
        # finishing or undoing it removes them; deleting under it would leave them behind.
        raise TenantError(
            f"a move of {tenant.subdomain} is in progress; finish it (move_tenant "
            f"{tenant.subdomain} --resume) or undo it (--rollback) first"
        )
    if backup_to:
        from tenants.backup import backup_target_problem

        if problem := backup_target_problem(tenant.region, backup_to):
            raise TenantError(problem)  # before anything changes: the tenant stays served
    tenant.status = was = _mark_deleting(tenant)  # as of now: what its backup records
    backed_up = None
    try:
        backend = backend_for(tenant)
        placement = backend.placement(tenant)
        # Wait out the registry's staleness bound: after it, no process starts a request
        # for this tenant, so the backup below is the tenant's last state.
        time.sleep(resolvers.max_age())
        # Requests that started before the hosts were refused may still be writing:
        # the backup begins once their transactions have ended.
        fence.drain(placement, tenant.id)
        rows = 0
        if backup_to:
            from tenants.backup import backup_write

            backed_up, rows = backup_write(tenant=tenant, path=backup_to)
        # A stale process's later transaction is refused from here on.
        fence.fence(placement, tenant.id, "deleting")
    except BaseException as exc:
        _put_back(tenant, was)
        if backed_up is not None:
            backed_up.unlink(missing_ok=True)  # nothing was deleted: no backup of it
        if was == TenantStatus.DELETING or not isinstance(exc, Exception):
            raise  # an earlier run's leftovers, or an interrupt: the caller reads the status
        raise TenantError(
            f"{error_summary(exc)}; {tenant.subdomain} is {was} again, as it was"
        ) from exc
    backend.deprovision(tenant)
    # The customer exports hold its rows too (the operator backup stays: its retention).
    from tenants.residency import exports_remove

    exports_remove(tenant.region, tenant.pk)
    backup_path = str(backed_up) if backed_up is not None else None
    reserved_until = tenant_forget(tenant=tenant, reserve=reserve, backup_path=backup_path or "")
    return {"backup": backup_path, "rows": rows, "reserved_until": reserved_until}


def _mark_deleting(tenant: Tenant) -> str:
    """Refuse the tenant's hosts; returns the status it had (read and changed in one step)."""
    alias = control_alias(f"deleting tenant {tenant.subdomain}")
    with transaction.atomic(using=alias):
        row = Tenant.objects.using(alias).select_for_update().filter(pk=tenant.pk)
        was = row.values_list("status", flat=True).first()
        if was is None:
            raise TenantError(f"no tenant {tenant.subdomain}")
        row.update(status=TenantStatus.DELETING)
    resolvers.invalidate(tenant.subdomain)
    return was


def _put_back(tenant: Tenant, was: str) -> None:
    """Nothing was removed: the tenant gets its status back (unless changed meanwhile)."""
    alias = control_alias(f"deleting tenant {tenant.subdomain} failed: status back to {was}")
    Tenant.objects.using(alias).filter(pk=tenant.pk, status=TenantStatus.DELETING).update(
        status=was
    )
    resolvers.invalidate(tenant.subdomain)
