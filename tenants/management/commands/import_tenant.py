"""Restore one tenant's rows from its own export file (all or nothing)."""

from django.core.management.base import BaseCommand, CommandError

from tenants.export import ImportRefused, tenant_import
from tenants.services import TenantError, tenant_get


class Command(BaseCommand):
    help = "Import FILE (made by export_tenant for this same tenant) into SUBDOMAIN."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--input", required=True)

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
            with open(opts["input"], encoding="utf-8") as stream:
                counts = tenant_import(tenant=tenant, stream=stream)
        except (TenantError, ImportRefused) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"imported {sum(counts.values())} rows into {tenant.subdomain}: {counts}")
