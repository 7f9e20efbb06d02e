"""Delete a tenant and all its data (operator backup first unless told otherwise)."""

import sys

from django.core.management.base import CommandError

from tenants.commands import OperatorCommand, describe
from tenants.models import Tenant, TenantStatus
from tenants.services import TenantError, tenant_delete, tenant_get


class Command(OperatorCommand):
    help = (
        "Delete SUBDOMAIN: write its operator backup (unless --no-backup), refuse its hosts, "
        "remove its rows, schema or database, then its records; its subdomain stays reserved "
        "for TENANT_DELETED_RETENTION_DAYS. Asks for confirmation unless --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument(
            "--no-backup", "--no-export", action="store_true", help="skip the operator backup"
        )
        parser.add_argument(
            "--output",
            help="backup file (default: the region's backup directory, tenants.residency)",
        )

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
        backup_to = None
        if not opts["no_backup"]:
            from tenants.backup import backup_path_for
            from tenants.residency import ResidencyError

            try:
                backup_to = opts["output"] or str(backup_path_for(tenant))
            except ResidencyError as exc:
                raise CommandError(f"{exc}; nothing deleted") from None
        try:
            result = tenant_delete(tenant=tenant, backup_to=backup_to)
        except TenantError as exc:
            # Refused or failed before anything was removed (the tenant has its status back).
            raise CommandError(f"{exc}; nothing deleted") from None
        except (Exception, KeyboardInterrupt) as exc:
            # Failed part-way (e.g. its database server went away) or interrupted: say what
            # is left and how to finish, in the one line.
            status = Tenant.objects.filter(pk=tenant.pk).values_list("status", flat=True).first()
            if status is None:
                raise
            if status != TenantStatus.DELETING:
                raise CommandError(
                    f"{describe(exc)}; nothing deleted, {tenant.subdomain} is {status} as it was"
                ) from None
            raise CommandError(
                f"{describe(exc)}; {tenant.subdomain} is left 'deleting' (no longer served): "
                f"run `delete_tenant {tenant.subdomain} --yes` again to finish"
            ) from None
        if result["backup"]:
            self.stdout.write(
                f"operator backup: {result['backup']} ({result['rows']} rows; restore with "
                f"`import_tenant --input {result['backup']}`)"
            )
        self.stdout.write(
            f"deleted {tenant.subdomain}; the subdomain is reserved until "
            f"{result['reserved_until']:%Y-%m-%d} (`release_subdomain {tenant.subdomain}` "
            f"frees it)"
        )
