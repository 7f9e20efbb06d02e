"""Suspend a tenant: its hosts refuse every request until reactivated."""

import time

from django.core.management.base import CommandError

from tenants import resolvers
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand, column
from tenants.models import Tenant
from tenants.services import TenantError, tenant_get, tenant_suspend


class Command(OperatorCommand):
    help = "Suspend a tenant: its users and API clients are refused until it is reactivated."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        add_actor_argument(parser)
        parser.add_argument(
            "--reason",
            default="",
            type=column(Tenant, "status_reason"),
            help="for operators only: never shown to the tenant",
        )

    def handle(self, *args, **opts):
        try:
            tenant = tenant_suspend(
                tenant=tenant_get(opts["subdomain"]),
                reason=opts["reason"],
                actor=command_actor(opts["actor"]),
            )
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        # Every process acts on registry state at most this old: once it has passed,
        # the change holds everywhere (the registry listener is usually much faster).
        time.sleep(resolvers.max_age())
        self.stdout.write(f"suspended {tenant.subdomain} (in effect on every server)")
