"""Mint an API token for a tenant (automation); prints the secret once on stdout."""

from django.core.management.base import CommandError

from accounts.models import ApiToken
from accounts.services import AccountError, token_create
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand, column
from tenants.context import tenant_scope
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = (
        "Create an API token for the tenant at SUBDOMAIN and print its secret once "
        "(only a hash is stored; it cannot be shown again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--name", required=True, type=column(ApiToken, "name"))
        parser.add_argument("--scopes", required=True, help="comma-separated: read,write,admin")
        parser.add_argument("--expires-in-days", type=int, default=None)
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        scopes = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
        try:
            with tenant_scope(tenant):
                issued = token_create(
                    tenant=tenant,
                    name=opts["name"],
                    scopes=scopes,
                    actor=command_actor(opts["actor"]),
                    created_by=None,  # held by no member: an operator's token
                    expires_in_days=opts["expires_in_days"],
                )
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        # Only the secret on stdout, so `TOKEN=$(manage.py create_api_token …)` works.
        self.stdout.write(issued.secret)
        self.stderr.write(
            f"created token {issued.token.name!r} ({', '.join(issued.token.scopes)}) "
            f"for {tenant.subdomain}; store the secret now, it is not shown again"
        )
