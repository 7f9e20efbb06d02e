"""Reactivate a suspended tenant."""

import time

from django.core.management.base import CommandError

from tenants import resolvers
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand
from tenants.services import TenantError, tenant_get, tenant_reactivate


class Command(OperatorCommand):
    help = "Reactivate a suspended tenant."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        try:
            tenant = tenant_reactivate(
                tenant=tenant_get(opts["subdomain"]), actor=command_actor(opts["actor"])
            )
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        # Every process acts on registry state at most this old: once it has passed,
        # the change holds everywhere (the registry listener is usually much faster).
        time.sleep(resolvers.max_age())
        self.stdout.write(f"reactivated {tenant.subdomain} (in effect on every server)")
