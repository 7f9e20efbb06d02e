"""Export one tenant's rows to a JSON-lines file (synchronously; no worker needed)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from tenants.export import tenant_export
from tenants.services import TenantError, tenant_get


class Command(BaseCommand):
    help = "Write every tenant-owned row of SUBDOMAIN to FILE (JSON lines, FK order)."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--output", required=True, help="file path, or - for stdout")

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        if opts["output"] == "-":
            counts = tenant_export(tenant=tenant, stream=sys.stdout)
        else:
            with open(opts["output"], "w", encoding="utf-8") as stream:
                counts = tenant_export(tenant=tenant, stream=stream)
        total = sum(counts.values())
        self.stderr.write(f"exported {total} rows of {tenant.subdomain}: {counts}")
