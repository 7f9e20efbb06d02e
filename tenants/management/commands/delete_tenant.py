"""Delete a tenant and all its data (exported first unless told otherwise)."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.services import TenantError, tenant_delete, tenant_get


class Command(BaseCommand):
    help = (
        "Delete SUBDOMAIN: export its data (unless --no-export), refuse its hosts, remove its "
        "rows, schema or database, then its records. Asks for confirmation unless --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--no-export", action="store_true", help="skip the export")
        parser.add_argument("--output", help="export file (default: MEDIA_ROOT/deleted/…)")

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        if not opts["yes"]:
            if not sys.stdin.isatty():
                raise CommandError("refusing to delete without confirmation: pass --yes")
            answer = input(
                f"Delete {tenant.subdomain} ({tenant.name}) and all its data? "
                f"Type the subdomain to confirm: "
            )
            if answer.strip() != tenant.subdomain:
                raise CommandError("not confirmed; nothing deleted")
        export_to = None
        if not opts["no_export"]:
            export_to = opts["output"] or str(
                Path(settings.MEDIA_ROOT)
                / "deleted"
                / f"{tenant.subdomain}-{timezone.now():%Y%m%dT%H%M%S}.jsonl"
            )
            Path(export_to).parent.mkdir(parents=True, exist_ok=True)
        result = tenant_delete(tenant=tenant, export_to=export_to)
        if export_to:
            self.stdout.write(f"exported {result['rows']} rows to {export_to}")
        self.stdout.write(f"deleted {tenant.subdomain}")
