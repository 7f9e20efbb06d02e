"""Evening out the servers of a region: a plan of moves, performed through `tenant_move`.

Two measures of a server's load (`by`):

* `size` (the default): the bytes of tenant data placed on it (tenants.backends.sizes:
  database and schema sizes from the catalog, a shared tenant's share of the pooled
  tables). The plan repeatedly takes, from the server holding the most data to the one
  holding the least, the tenant whose size is closest to half their difference — the move
  that evens that pair out best — until no tenant's move narrows the gap, the gap is
  within BALANCED_WITHIN of the region's mean, or `max_moves` moves are planned. Every
  planned move strictly lowers the sum of squared loads, so the plan always ends.
* `count`: the number of tenants placed on it (the placement rule's measure,
  tenants.servers). The plan repeatedly takes the most recently created active tenant of
  the most loaded server to the least loaded one, until they differ by one tenant at most.

A tenant keeps its isolation mode; only its server changes, never its region. Tenants
that are not active, or have a move in progress, stay where they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tenants.backends import pools
from tenants.models import DatabaseServer, MovePhase, Tenant, TenantMove, TenantStatus

MEASURES = ("size", "count")
#: Servers whose data differs by at most this share of the region's mean load are even.
BALANCED_WITHIN = 0.10


class RebalanceError(Exception):
    pass


@dataclass
class PlannedMove:
    tenant: Tenant
    source: DatabaseServer
    target: DatabaseServer
    outcome: str = "planned"  # then "done" or the error
    size: int = 0  # bytes (measured for every plan)


@dataclass
class RebalancePlan:
    region: str
    before: dict[str, int]  # server name → tenants
    after: dict[str, int]
    moves: list[PlannedMove]
    by: str = "count"
    bytes_before: dict[str, int] = field(default_factory=dict)  # server name → bytes
    bytes_after: dict[str, int] = field(default_factory=dict)


def rebalance_plan(*, region: str, max_moves: int, by: str = "size") -> RebalancePlan:
    from tenants.backends.database import default_server
    from tenants.backends.sizes import tenant_sizes

    if max_moves < 0:
        raise RebalanceError("--max-moves must be at least 0")
    if by not in MEASURES:
        raise RebalanceError(f"--by must be one of {', '.join(MEASURES)}, not {by!r}")
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
    measured = True
    try:
        sizes = tenant_sizes([t for ts in placed.values() for t in ts])
    except Exception as exc:  # a server that cannot be measured: say which, in one line
        if by == "size":
            reason = " ".join(str(exc).split())[:300]
            raise RebalanceError(f"could not measure the tenants' sizes: {reason}") from None
        measured, sizes = False, defaultdict(int)  # counting needs no sizes
    before = {s.name: len(placed[s.pk]) for s in servers}
    bytes_before = {s.name: sum(sizes[t.pk] for t in placed[s.pk]) for s in servers}
    if not measured:
        bytes_before = {}
    busy = set(
        TenantMove.objects.filter(phase__in=[MovePhase.COPYING, MovePhase.SWITCHED]).values_list(
            "tenant_id", flat=True
        )
    )
    moves: list[PlannedMove] = []

    def movable(server) -> list[Tenant]:
        planned = {m.tenant.pk for m in moves}
        return [
            t
            for t in placed[server.pk]
            if t.status == TenantStatus.ACTIVE and t.pk not in busy and t.pk not in planned
        ]

    def load(server) -> int:
        if by == "count":
            return len(placed[server.pk])
        return sum(sizes[t.pk] for t in placed[server.pk])

    while len(moves) < max_moves and len(servers) > 1:
        high = max(servers, key=lambda s: (load(s), s.name))
        low = min(servers, key=lambda s: (load(s), not pools.is_main(s), s.name))
        gap = load(high) - load(low)
        if by == "count":
            if gap <= 1:
                break
            candidates = movable(high)
            tenant = candidates[-1] if candidates else None
        else:
            mean = sum(load(s) for s in servers) / len(servers)
            if gap <= BALANCED_WITHIN * mean:
                break
            # Only a tenant smaller than the gap narrows it; the best lands nearest its half.
            candidates = [t for t in movable(high) if 0 < sizes[t.pk] < gap]
            tenant = min(candidates, key=lambda t: abs(gap - 2 * sizes[t.pk]), default=None)
        if tenant is None:
            break
        placed[high.pk].remove(tenant)
        placed[low.pk].append(tenant)
        moves.append(PlannedMove(tenant, high, low, size=sizes[tenant.pk]))
    after = {s.name: len(placed[s.pk]) for s in servers}
    bytes_after = {s.name: sum(sizes[t.pk] for t in placed[s.pk]) for s in servers}
    if not measured:
        bytes_after = {}
    return RebalancePlan(region, before, after, moves, by, bytes_before, bytes_after)


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
