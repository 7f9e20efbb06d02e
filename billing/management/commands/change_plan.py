"""Move a tenant to another plan (refused, with what exceeds, if usage does not fit)."""

from django.core.management.base import CommandError

from billing.errors import BillingError, PlanChangeRefused
from billing.subscriptions import subscription_change_plan
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = "Change a tenant's plan. A downgrade below current usage is refused (exit status 1)."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("plan", help="Plan code, e.g. free")
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
            old = tenant.plan.code
            subscription_change_plan(
                tenant=tenant, plan_code=opts["plan"], actor=command_actor(opts["actor"])
            )
        except PlanChangeRefused as exc:
            # One line (tenants.commands): the message, then each limit by its field name.
            limits = "; ".join(f"{u.name}: limit {u.limit}, usage {u.usage}" for u in exc.exceeded)
            raise CommandError(f"{exc} [{limits}]") from None
        except (TenantError, BillingError) as exc:
            raise CommandError(str(exc)) from None
        if old == opts["plan"]:
            self.stdout.write(f"{tenant.subdomain} is already on {opts['plan']}")
        else:
            self.stdout.write(f"{tenant.subdomain}: {old} -> {opts['plan']}")
