"""Restore a tenant from its operator backup (re-creating it if it was deleted)."""

from django.core.management.base import CommandError

from tenants.commands import OperatorCommand
from tenants.export import ImportRefused
from tenants.restore import tenant_restore
from tenants.services import TenantError


class Command(OperatorCommand):
    help = (
        "Import FILE, an operator backup (delete_tenant, export_tenant --backup), into its "
        "tenant; a deleted tenant is re-created with its id and its subdomain released. "
        "Customer exports cannot be imported: they hold no passwords."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "subdomain", nargs="?", help="optional: refuse unless the backup is of this tenant"
        )
        parser.add_argument("--input", required=True)
        parser.add_argument(
            "--full",
            action="store_true",
            help="into a live tenant: members, API tokens, invitations, webhook endpoints and "
            "billing as in the backup too, undoing removals, revocations and role changes made "
            "since (by default those stay as they are now)",
        )

    def handle(self, *args, **opts):
        try:
            with open(opts["input"], encoding="utf-8") as stream:
                tenant, counts, created = tenant_restore(
                    stream=stream, subdomain=opts["subdomain"], full=opts["full"]
                )
        except FileNotFoundError:
            raise CommandError(f"No such file: {opts['input']}") from None
        except (TenantError, ImportRefused) as exc:
            raise CommandError(str(exc)) from None
        verb = "re-created" if created else "restored"
        self.stdout.write(
            f"{verb} {tenant.subdomain} ({tenant.pk}): imported {sum(counts.values())} rows"
        )
        if created and tenant.status == "suspended":
            self.stdout.write(
                f"{tenant.subdomain} is suspended, as it was when it was deleted: "
                f"`reactivate_tenant {tenant.subdomain}` serves it"
            )
        if created:
            # Its deletion's retention no longer governs the backup (the tenant is live again,
            # and release_subdomain --expired --delete-backup will not find it): say so.
            self.stdout.write(
                f"{opts['input']} still holds the tenant's data, password hashes included: "
                "remove it once it is no longer needed"
            )
