"""Reactivate a suspended tenant."""

from django.core.management.base import BaseCommand, CommandError

from tenants.services import TenantError, tenant_get, tenant_reactivate


class Command(BaseCommand):
    help = "Reactivate a suspended tenant."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")

    def handle(self, *args, **opts):
        try:
            tenant = tenant_reactivate(tenant=tenant_get(opts["subdomain"]))
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"reactivated {tenant.subdomain}")
