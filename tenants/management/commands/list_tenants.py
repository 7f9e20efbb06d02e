"""List tenants with their isolation mode, placement, plan, status and row counts."""

import json
from collections import defaultdict

from psycopg import sql

from tenants.backends import backend_for
from tenants.backends.copy import placed_tables, row_counts
from tenants.commands import OperatorCommand
from tenants.management.progress import table
from tenants.models import Tenant


def _placement_label(tenant) -> str:
    try:
        placement = backend_for(tenant).placement(tenant)
    except Exception:  # not placed anywhere yet
        return "(not provisioned)"
    if placement.pooled:
        what = "pooled tables"
    elif placement.schema != "public":
        what = f"schema {placement.schema}"
    else:
        what = f"database {tenant.database_name or '(not provisioned)'}"
    return f"{what} on {tenant.server_name}"


def _pooled(tenant) -> bool:
    try:
        return backend_for(tenant).placement(tenant).pooled
    except Exception:  # not placed anywhere yet
        return False


def _shared_counts(tenants) -> dict:
    """Rows per pooled tenant: one GROUP BY per table and pool, not one query per tenant."""
    counts: dict = defaultdict(int)
    by_pool: dict = defaultdict(list)
    for t in tenants:
        by_pool[backend_for(t).placement(t)].append(t.pk)
    for placement, ids in by_pool.items():
        try:
            with placement.operator() as conn:
                for spec in placed_tables():
                    rows = conn.execute(
                        sql.SQL(
                            "SELECT tenant_id, count(*) FROM {} WHERE tenant_id = ANY(%s) "
                            "GROUP BY tenant_id"
                        ).format(sql.Identifier(spec.table)),
                        [ids],
                    )
                    for tenant_id, n in rows:
                        counts[tenant_id] += n
        except Exception as exc:  # an unreachable pool is reported, not fatal
            for tenant_id in ids:
                counts[tenant_id] = f"unavailable: {' '.join(str(exc).split())[:80]}"
    return counts


class Command(OperatorCommand):
    help = "List tenants: isolation mode, placement, plan, status, region and row counts."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--no-counts", action="store_true", help="skip counting rows")

    def handle(self, *args, **opts):
        tenants = list(Tenant.objects.select_related("plan", "database_server"))
        counts: dict = {}
        if not opts["no_counts"]:
            pooled = [t for t in tenants if _pooled(t)]
            counts.update(_shared_counts(pooled))
            pooled_ids = {t.pk for t in pooled}
            for t in tenants:
                if t.pk not in pooled_ids:
                    try:
                        counts[t.pk] = sum(row_counts(backend_for(t).placement(t), t.pk).values())
                    except Exception as exc:  # an unreachable placement is reported, not fatal
                        counts[t.pk] = f"unavailable: {' '.join(str(exc).split())[:80]}"
        rows = [
            {
                "subdomain": t.subdomain,
                "name": t.name,
                "isolation": t.isolation,
                "placement": _placement_label(t),
                "plan": t.plan.code,
                "status": t.status,
                "region": t.region,
                "server": t.server_name,
                "rows": counts.get(t.pk) if not opts["no_counts"] else None,
                "migration_error": t.migration_error or None,
            }
            for t in tenants
        ]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2, default=str))
            return
        headers = ("SUBDOMAIN", "MODE", "PLAN", "STATUS", "REGION", "SERVER", "ROWS", "PLACEMENT")
        keys = ("subdomain", "isolation", "plan", "status", "region", "server", "rows", "placement")
        for line in table(headers, [[r[k] for k in keys] for r in rows]):
            self.stdout.write(line)
