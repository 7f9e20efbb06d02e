"""Restoring an operator backup (tenants.backup writes them): `import_tenant`.

Restoring a deleted tenant re-creates it (tenants.services.tenant_recreate) before
importing its rows; deleting one writes the backup. So the restore lives above the
services and the backup writer below them.
"""

from __future__ import annotations

from tenants import resolvers
from tenants.export import ImportRefused, read_header, tenant_import
from tenants.models import Tenant
from tenants.reservations import subdomain_release
from tenants.services import TenantError, tenant_delete, tenant_recreate


def tenant_restore(*, stream, subdomain: str | None = None, full: bool = False):
    """Restore an operator backup: into its tenant, or re-create the deleted tenant (same id).

    `full`: into a live tenant, members, tokens and billing as in the backup too
    (tenants.export.tenant_import). Returns (tenant, rows per model, created). All or nothing: a re-created
    tenant is removed again when the import fails. The subdomain's
    reservation is released once the tenant is back.
    """
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
        counts = tenant_import(
            tenant=tenant, stream=stream, header=header, recreated=created, full=full
        )
    except BaseException:
        if created:
            tenant_delete(tenant=tenant, reserve=False)
        raise
    subdomain_release(tenant.subdomain, tenant_id=tenant.pk)
    resolvers.invalidate(tenant.subdomain)
    return tenant, counts, created
