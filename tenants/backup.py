"""Operator backups: written where only operators can read them, restored by import_tenant."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tenants import residency
from tenants.export import BACKUP, ImportRefused, read_header, tenant_export, tenant_import


def backup_dir(region: str | None = None) -> Path:
    """The region's backup directory, created 0700 (operators only; never served).

    TENANT_BACKUP_DIR for the default region (tenants.residency).
    """
    path = residency.backup_dir(region or settings.TENANT_DEFAULT_REGION)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def backup_path_for(tenant) -> Path:
    return (
        backup_dir(tenant.region)
        / f"{tenant.subdomain}-{tenant.pk.hex[:8]}-{timezone.now():%Y%m%dT%H%M%S}.jsonl"
    )


def backup_write(*, tenant, path: str | Path | None = None) -> tuple[Path, int]:
    """Write the tenant's operator backup (a new 0600 file); returns (path, rows).

    ResidencyError when the path (or the region's storage) is not the tenant's region's.
    """
    target = residency.check_path(tenant.region, path) if path else backup_path_for(tenant)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL: never write through a file (or link) somebody else prepared.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            rows = sum(tenant_export(tenant=tenant, stream=stream, kind=BACKUP).values())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, rows


def tenant_restore(*, stream, subdomain: str | None = None):
    """Restore an operator backup: into its tenant, or re-create the deleted tenant (same id).

    Returns (tenant, rows per model, created). All or nothing: a re-created
    tenant is removed again when the import fails. The subdomain's
    reservation is released once the tenant is back.
    """
    from tenants import resolvers
    from tenants.models import Tenant
    from tenants.reservations import subdomain_release
    from tenants.services import TenantError, tenant_delete, tenant_recreate

    header = read_header(stream)
    if subdomain and subdomain != header.get("subdomain"):
        raise ImportRefused(
            f"This export belongs to another tenant ({header.get('subdomain')}); "
            f"refusing to import it into {subdomain}."
        )
    tenant = Tenant.objects.select_related("plan").filter(pk=header.get("tenant")).first()
    created = tenant is None
    if created:
        registry = header.get("registry")
        if not registry:
            raise ImportRefused(
                "This backup predates registry records: create the tenant first, then import."
            )
        try:
            tenant = tenant_recreate(registry=registry)
        except TenantError as exc:
            raise ImportRefused(str(exc)) from None
    try:
        counts = tenant_import(tenant=tenant, stream=stream, header=header)
    except BaseException:
        if created:
            tenant_delete(tenant=tenant, reserve=False)
        raise
    subdomain_release(tenant.subdomain, tenant_id=tenant.pk)
    resolvers.invalidate(tenant.subdomain)
    return tenant, counts, created
