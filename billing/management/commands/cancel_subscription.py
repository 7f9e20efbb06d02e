"""Cancel a tenant's subscription; its data and plan stay until an operator acts."""

from django.core.management.base import CommandError

from billing.errors import BillingError
from billing.subscriptions import subscription_cancel
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = "Cancel a tenant's subscription at once (audited). Data and plan are kept."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
            subscription = subscription_cancel(tenant=tenant, actor=command_actor(opts["actor"]))
        except (TenantError, BillingError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{tenant.subdomain}: subscription {subscription.status}")
