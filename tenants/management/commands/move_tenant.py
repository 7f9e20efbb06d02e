"""Move a tenant between isolation modes (and servers) online, without losing a row."""

import json
from contextlib import closing

from django.core.management.base import CommandError

from tenants.backends.move import MoveError, tenant_move, tenant_move_resume, tenant_move_rollback
from tenants.commands import OperatorCommand
from tenants.context import dangerously_unscoped
from tenants.management.progress import Progress, table
from tenants.models import Isolation
from tenants.servers import PlacementError, server_for_placement
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = (
        "Move a tenant to another placement online: its rows are copied while it keeps "
        "reading and writing, its changes replayed, everything verified (row counts and "
        "checksums); writes pause only for the switch. The source is removed unless "
        "--keep-source. An interrupted move is finished with --resume or undone with --rollback."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--to", choices=Isolation.values)
        parser.add_argument(
            "--server", help="a registered server of the tenant's region (default: its own)"
        )
        parser.add_argument("--database-url", help="a server URL (registered on first use)")
        parser.add_argument("--keep-source", action="store_true")
        parser.add_argument("--resume", action="store_true")
        parser.add_argument("--rollback", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        # Registry and move records are the operator role's to write.
        with dangerously_unscoped(f"move_tenant {opts['subdomain']}"):
            self._handle(opts)

    def _handle(self, opts):
        bar = Progress(self.stderr._out, label=f"move_tenant {opts['subdomain']}")
        try:
            with closing(bar):
                move, tenant = self._move(opts, bar.percent)
        except (MoveError, PlacementError, TenantError) as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "subdomain": tenant.subdomain,
                        "phase": move.phase,
                        "from": move.source_isolation,
                        "to": move.target_isolation,
                        "rows": move.counts,
                        "write_pause_ms": move.write_pause_ms,
                    }
                )
            )
            return
        counts = move.counts or {}
        if counts:
            for line in table(("TABLE", "ROWS"), sorted(counts.items())):
                self.stdout.write(line)
        pause = "" if move.write_pause_ms is None else f", write pause {move.write_pause_ms:.0f} ms"
        self.stdout.write(
            f"{tenant.subdomain}: {_where(move, 'source')} → {_where(move, 'target')}: "
            f"{move.phase} ({sum(counts.values())} rows{pause})"
        )

    def _move(self, opts, progress):
        tenant = tenant_get(opts["subdomain"])
        if opts["resume"]:
            move = tenant_move_resume(tenant=tenant, progress=progress)
        elif opts["rollback"]:
            move = tenant_move_rollback(tenant=tenant)
        else:
            if not opts["to"]:
                raise CommandError("--to is required (or --resume / --rollback)")
            server = None  # none named: tenant_move applies the placement rule
            if opts["server"] or opts["database_url"]:
                server = server_for_placement(
                    region=tenant.region, name=opts["server"], database_url=opts["database_url"]
                )
            move = tenant_move(
                tenant=tenant,
                to=opts["to"],
                server=server,
                keep_source=opts["keep_source"],
                progress=progress,
            )
        return move, tenant


def _where(move, side: str) -> str:
    isolation = getattr(move, f"{side}_isolation")
    name = getattr(move, f"{side}_database_name")
    server = getattr(move, f"{side}_server")
    where = f"{isolation} {name}" if name else isolation
    return f"{where} on {server.name if server is not None else 'main'}"
