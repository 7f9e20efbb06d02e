"""Export one tenant's rows to a JSON-lines file (synchronously; no worker needed)."""

import sys

from django.core.management.base import CommandError

from tenants.commands import OperatorCommand
from tenants.export import BACKUP, CUSTOMER, tenant_export
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = (
        "Write SUBDOMAIN's customer export (the allow-list its admins download) to FILE; "
        "with --backup, the operator backup instead (every field but sessions, restorable by "
        "import_tenant). Either is a new 0600 file."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--output", required=True, help="file path, or - for stdout")
        parser.add_argument(
            "--backup", action="store_true", help="operator backup (holds password hashes)"
        )

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        kind = BACKUP if opts["backup"] else CUSTOMER
        if opts["output"] != "-":
            from tenants.residency import ResidencyError, check_path

            try:
                check_path(tenant.region, opts["output"])
            except ResidencyError as exc:
                raise CommandError(str(exc)) from None
        if opts["output"] == "-":
            counts = tenant_export(tenant=tenant, stream=sys.stdout, kind=kind)
        else:
            from tenants.backup import export_write

            try:
                _, rows = export_write(tenant=tenant, path=opts["output"], kind=kind)
            except FileExistsError:
                raise CommandError(f"{opts['output']} exists; choose another --output") from None
            counts = {"rows": rows}
        total = sum(counts.values())
        self.stderr.write(f"exported {total} rows of {tenant.subdomain} ({kind})")
