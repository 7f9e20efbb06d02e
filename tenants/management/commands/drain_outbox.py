"""Publish the outbox rows that are due (after a broker outage), once, and say how many."""

from django.core.management.base import CommandError

from tenants.commands import OperatorCommand
from tenants.context import no_tenant
from tenants.models import Tenant
from tenants.outbox import outbox_drain


class Command(OperatorCommand):
    help = (
        "Publish every due outbox row (work accepted while the broker was down) to the broker, "
        "each in its own tenant. The beat task tenants.outbox_drain does the same each minute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tenant", action="append", default=[], help="subdomain; repeatable (default: all)"
        )
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, **opts):
        tenants = None
        if opts["tenant"]:
            with no_tenant():
                tenants = list(Tenant.objects.filter(subdomain__in=opts["tenant"]))
            missing = set(opts["tenant"]) - {t.subdomain for t in tenants}
            if missing:
                raise CommandError(f"no such tenant: {', '.join(sorted(missing))}")
        result = outbox_drain(tenants=tenants, limit=opts["limit"], waiting=True)
        self.stdout.write(f"due {result['due']}, published {result['published']}")
        if result["unavailable"]:
            raise CommandError("some rows were not published (is the broker up?); run it again")
