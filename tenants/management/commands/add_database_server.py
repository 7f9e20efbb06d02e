"""Register a PostgreSQL server for database-per-tenant placements."""

from django.core.management.base import CommandError

from tenants.commands import OperatorCommand
from tenants.servers import PlacementError, server_register


class Command(OperatorCommand):
    help = "Register a PostgreSQL server (name, region, admin URL) for tenant databases."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--url", required=True, help="a role there that may create databases")
        parser.add_argument("--region", required=True)

    def handle(self, *args, **opts):
        try:
            server = server_register(name=opts["name"], url=opts["url"], region=opts["region"])
        except PlacementError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"server {server.name} in region {server.region} registered")
