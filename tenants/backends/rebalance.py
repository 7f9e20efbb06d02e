"""Evening out the servers of a region: a plan of moves, performed through `tenant_move`.

Load is the number of tenants placed on a server (the placement rule's
measure, tenants.servers). The plan repeatedly takes a tenant from the most
loaded server to the least loaded one of the same region, until they differ by
one tenant at most or `max_moves` moves are planned. The tenant taken is the
most recently created active one of the server (the smallest, usually: the
shortest move). A tenant keeps its isolation mode; only its server changes,
never its region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenants.backends import pools
from tenants.models import DatabaseServer, MovePhase, Tenant, TenantMove, TenantStatus


class RebalanceError(Exception):
    pass


@dataclass
class PlannedMove:
    tenant: Tenant
    source: DatabaseServer
    target: DatabaseServer
    outcome: str = "planned"  # then "done" or the error


@dataclass
class RebalancePlan:
    region: str
    before: dict[str, int]  # server name → tenants
    after: dict[str, int]
    moves: list[PlannedMove]


def rebalance_plan(*, region: str, max_moves: int) -> RebalancePlan:
    from tenants.backends.database import default_server

    if max_moves < 0:
        raise RebalanceError("--max-moves must be at least 0")
    main = default_server()
    servers = list(DatabaseServer.objects.filter(region=region, is_active=True).order_by("name"))
    if not servers:
        raise RebalanceError(f"no database server registered in region {region!r}")
    placed: dict[int, list[Tenant]] = {s.pk: [] for s in servers}
    tenants = (
        Tenant.objects.select_related("plan", "database_server")
        .exclude(status=TenantStatus.DELETING)
        .order_by("created_at")
    )
    for t in tenants:
        server_pk = main.pk if pools.is_main(t.database_server) else t.database_server_id
        if server_pk in placed:
            placed[server_pk].append(t)
    before = {s.name: len(placed[s.pk]) for s in servers}
    busy = set(
        TenantMove.objects.filter(phase__in=[MovePhase.COPYING, MovePhase.SWITCHED]).values_list(
            "tenant_id", flat=True
        )
    )
    moves: list[PlannedMove] = []
    while len(moves) < max_moves and len(servers) > 1:
        high = max(servers, key=lambda s: (len(placed[s.pk]), s.name))
        low = min(servers, key=lambda s: (len(placed[s.pk]), not pools.is_main(s), s.name))
        if len(placed[high.pk]) - len(placed[low.pk]) <= 1:
            break
        movable = [
            t
            for t in placed[high.pk]
            if t.status == TenantStatus.ACTIVE
            and t.pk not in busy
            and t.pk not in {m.tenant.pk for m in moves}
        ]
        if not movable:
            break
        tenant = movable[-1]
        placed[high.pk].remove(tenant)
        placed[low.pk].append(tenant)
        moves.append(PlannedMove(tenant, high, low))
    after = {s.name: len(placed[s.pk]) for s in servers}
    return RebalancePlan(region, before, after, moves)


def rebalance_apply(
    plan: RebalancePlan, *, say: Callable[[PlannedMove], None] | None = None
) -> RebalancePlan:
    """Perform the plan's moves one by one; a refused or failed move is reported, not fatal."""
    from tenants.backends.move import MoveError, tenant_move

    for planned in plan.moves:
        tenant = (
            Tenant.objects.select_related("plan", "database_server")
            .filter(pk=planned.tenant.pk)
            .first()
        )
        if tenant is None or not pools.same_server(tenant.database_server, planned.source):
            planned.outcome = "skipped: the tenant changed since the plan"
        else:
            try:
                tenant_move(tenant=tenant, to=tenant.isolation, server=planned.target)
            except MoveError as exc:
                planned.outcome = f"failed: {exc}"
            except Exception as exc:  # an unreachable server…: the next moves still run
                planned.outcome = f"failed: {' '.join(str(exc).split())[:300]}"
            else:
                planned.outcome = "done"
        if say:
            say(planned)
    return plan
