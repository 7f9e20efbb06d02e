"""Create (or finish creating) a tenant's own database (or schema)."""

from django.core.management.base import CommandError

from tenants.backends import backend_for
from tenants.commands import OperatorCommand
from tenants.control import control_alias
from tenants.models import Tenant
from tenants.servers import PlacementError, server_for_placement
from tenants.services import TenantError, tenant_get, tenant_provision


class Command(OperatorCommand):
    help = (
        "Create the tenant's own database (roles, grants, migrations) on its server, or its "
        "schema for schema-mode tenants. "
        "Idempotent: safe to re-run after a crash half-way."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--database-url", help="place it on this server (registers it)")

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
            backend = backend_for(tenant)
            if not backend.own_placement:
                raise CommandError(
                    f"{tenant.subdomain} is in {tenant.isolation} mode; use "
                    f"move_tenant {tenant.subdomain} --to database to give it a database"
                )
            if opts["database_url"] and not backend.own_database:
                raise CommandError("--database-url applies to database-mode tenants only")
            if opts["database_url"]:
                server = server_for_placement(
                    region=tenant.region, database_url=opts["database_url"]
                )
                if tenant.database_server_id not in (None, server.pk) and tenant.database_name:
                    raise CommandError(
                        "the tenant already has a database on another server; "
                        "use move_tenant to move it"
                    )
                Tenant.objects.using(
                    control_alias(f"placing {tenant.subdomain} on {server.name}")
                ).filter(pk=tenant.pk).update(database_server=server)
                tenant.database_server = server
            tenant_provision(tenant=tenant)
        except (TenantError, PlacementError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{tenant.subdomain}: {backend_for(tenant).describe(tenant)} ready")
