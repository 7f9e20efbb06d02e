"""Top every server's spare placements up to TENANT_SPARES (or drop them), and say what is there."""

from django.core.management.base import CommandError

from tenants.backends import refill
from tenants.commands import OperatorCommand
from tenants.models import DatabaseServer


class Command(OperatorCommand):
    help = (
        "Build the spare schemas and databases each active database server keeps "
        "(TENANT_SPARES, at the code's migration state), retiring stale ones first. "
        "The beat task tenants.spares_refill does the same each minute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--server", help="one registered server (default: every active one)")
        parser.add_argument(
            "--drop", action="store_true", help="drop every spare instead (none left to claim)"
        )

    def handle(self, *args, **opts):
        server = None
        if opts["server"]:
            server = DatabaseServer.objects.filter(name=opts["server"]).first()
            if server is None:
                raise CommandError(f"no such database server: {opts['server']}")
        if opts["drop"]:
            self.stdout.write(f"dropped {refill.retire(server, stale_only=False)} spares")
            return
        retired = refill.retire(server)
        built = refill.refill(server)
        self.stdout.write(
            f"retired {retired} stale, built {built['schema']} schemas and "
            f"{built['database']} databases"
        )
        for name, held in refill.counts(server).items():
            self.stdout.write(f"{name}: {held['schema']} schemas, {held['database']} databases")
