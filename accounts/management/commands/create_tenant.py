"""Create a tenant (and optionally its owner)."""

from django.core.management.base import CommandError

from accounts.onboarding import organisation_create
from accounts.services import AccountError
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand
from tenants.models import Isolation
from tenants.services import TenantError


class Command(OperatorCommand):
    help = "Create a tenant at <subdomain>.<BASE_DOMAIN>, optionally with an owner account."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Organisation name")
        parser.add_argument("--subdomain", required=True, help="DNS label, 3–63 chars")
        parser.add_argument("--plan", default=None, help="Plan code (default: free)")
        parser.add_argument(
            "--isolation",
            choices=Isolation.values,
            default=None,
            help="Isolation mode (default: the plan's, else TENANT_DEFAULT_ISOLATION)",
        )
        parser.add_argument(
            "--server", default=None, help="database isolation: a registered database server"
        )
        parser.add_argument(
            "--database-url",
            default=None,
            help="database isolation: place the tenant's database on this server",
        )
        parser.add_argument("--region", default=None, help="data residency region")
        parser.add_argument("--owner-email", default=None)
        parser.add_argument("--owner-password", default=None)
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        if opts["owner_password"] and not opts["owner_email"]:
            raise CommandError("--owner-password needs --owner-email")
        try:
            tenant = organisation_create(
                name=opts["name"],
                subdomain=opts["subdomain"],
                plan_code=opts["plan"],
                isolation=opts["isolation"],
                owner_email=opts["owner_email"],
                owner_password=opts["owner_password"],
                server_name=opts["server"],
                database_url=opts["database_url"],
                region=opts["region"],
                actor=command_actor(opts["actor"]),
            )
        except (TenantError, AccountError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"created tenant {tenant.subdomain} ({tenant.id}) plan={tenant.plan.code} "
            f"isolation={tenant.isolation}"
        )
        if opts["owner_email"]:
            how = (
                "signs in with the given password"
                if opts["owner_password"]
                else "has no password yet: they set one through 'Forgot your password?' "
                "on the sign-in page"
            )
            self.stdout.write(f"owner {opts['owner_email']} {how}")
