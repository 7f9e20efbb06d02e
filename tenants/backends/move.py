"""Moving a tenant between placements without losing a row.

status `moving` → fence the source (tenants.fence: the database refuses the
app's transactions of this tenant there, and the fence returns only when the
ones already running have ended) → copy (one snapshot) → verify (row counts +
checksums per table) → lift any old fence on the target → switch the registry
atomically → re-verify the source → remove the source (unless --keep-source;
a kept source stays fenced, so a process still holding the old placement in
its cache gets a retryable 503, never a write that the tenant then loses).
Every phase is recorded in TenantMove, so an interrupted move can be resumed
or rolled back. While the tenant is `moving`, its hosts answer 503 with
Retry-After (writes are refused, nothing is half-written).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import transaction

from tenants import fence, resolvers
from tenants.backends import backend_for
from tenants.backends.copy import checksums, copy_rows, delete_tenant_rows
from tenants.backends.database import tenant_database_name
from tenants.models import Isolation, MovePhase, Tenant, TenantMove, TenantStatus

logger = logging.getLogger("tenants.move")


class MoveError(Exception):
    pass


def _shadow(tenant: Tenant, isolation: str, server, database_name: str) -> Tenant:
    """An unsaved Tenant describing one placement of `tenant` (source or target)."""
    shadow = Tenant(
        id=tenant.id,
        subdomain=tenant.subdomain,
        name=tenant.name,
        plan_id=tenant.plan_id,
        isolation=isolation,
        region=tenant.region,
        database_server=server,
        database_name=database_name,
    )
    return shadow


def _source(move: TenantMove) -> Tenant:
    return _shadow(
        move.tenant, move.source_isolation, move.source_server, move.source_database_name
    )


def _target(move: TenantMove) -> Tenant:
    return _shadow(
        move.tenant, move.target_isolation, move.target_server, move.target_database_name
    )


def _set_status(tenant: Tenant, status: str, **fields) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(status=status, **fields)
    tenant.status = status
    for k, v in fields.items():
        setattr(tenant, k, v)
    resolvers.invalidate(tenant.subdomain)


def _clear_target(target: Tenant) -> None:
    if target.isolation == Isolation.DATABASE and target.database_server is None:
        return  # never placed anywhere
    backend = backend_for(target)
    backend.prepare_server(target)
    if target.isolation == Isolation.SHARED:
        delete_tenant_rows(backend.placement(target), target.id)
    else:
        backend.deprovision(target)


def tenant_move(
    *,
    tenant: Tenant,
    to: str,
    server=None,
    keep_source: bool = False,
    progress: Callable[[int, str], None] | None = None,
) -> TenantMove:
    """Start a move; raises MoveError with a clear message when it cannot."""
    say = progress or (lambda pct, msg: None)
    if to not in Isolation.values:
        raise MoveError(f"unknown isolation mode {to!r}")
    open_move = TenantMove.objects.filter(
        tenant=tenant, phase__in=[MovePhase.COPYING, MovePhase.SWITCHED]
    ).first()
    if open_move is not None:
        raise MoveError(
            f"a move of {tenant.subdomain} is in progress (phase {open_move.phase}); "
            "resume it with --resume or undo it with --rollback"
        )
    if tenant.status != TenantStatus.ACTIVE:
        raise MoveError(f"{tenant.subdomain} is {tenant.status}; only active tenants can move")
    required = getattr(tenant.plan, "required_isolation", "") or ""
    if required and to != required:
        raise MoveError(
            f"{tenant.subdomain}'s plan ({tenant.plan.code}) requires {required} isolation; "
            "change the plan first"
        )
    from tenants.backends.pools import same_server
    from tenants.servers import PlacementError, check_residency, server_for_placement

    try:
        if server is None and to == Isolation.DATABASE and tenant.isolation != Isolation.DATABASE:
            server = server_for_placement(region=tenant.region)
        elif server is None:
            server = tenant.database_server  # another mode on the same server
        if server is not None:
            check_residency(region=tenant.region, server=server)
    except PlacementError as exc:
        raise MoveError(str(exc)) from None
    if to == tenant.isolation and same_server(server, tenant.database_server):
        raise MoveError(f"{tenant.subdomain} is already in {to} mode there")
    # Named like provisioned ones (after the main database): one deployment's, and one
    # test run's, tenant databases are recognisable on a shared server.
    target_name = tenant_database_name(tenant.id) if to == Isolation.DATABASE else ""
    if (
        to == Isolation.DATABASE
        and tenant.isolation == Isolation.DATABASE
        and tenant.database_name == target_name
    ):
        target_name = tenant_database_name(tenant.id, f"_{int(time.time())}")
    move = TenantMove.objects.create(
        tenant=tenant,
        source_isolation=tenant.isolation,
        source_server=tenant.database_server,
        source_database_name=tenant.database_name,
        target_isolation=to,
        target_server=server,
        target_database_name=target_name,
        keep_source=keep_source,
    )
    _set_status(tenant, TenantStatus.MOVING)
    return _run(move, say)


def tenant_move_resume(*, tenant: Tenant, progress=None) -> TenantMove:
    move = TenantMove.objects.filter(
        tenant=tenant, phase__in=[MovePhase.COPYING, MovePhase.SWITCHED]
    ).first()
    if move is None:
        raise MoveError(f"no move of {tenant.subdomain} to resume")
    return _run(move, progress or (lambda pct, msg: None))


def tenant_move_rollback(*, tenant: Tenant) -> TenantMove:
    move = TenantMove.objects.filter(
        tenant=tenant, phase__in=[MovePhase.COPYING, MovePhase.SWITCHED]
    ).first()
    if move is None:
        raise MoveError(f"no move of {tenant.subdomain} to roll back")
    if move.phase == MovePhase.SWITCHED:
        raise MoveError(
            "the move already switched; move the tenant back with "
            f"move_tenant {tenant.subdomain} --to {move.source_isolation}"
        )
    # Serve the tenant from its source again first; the half-made target is
    # only cleaned up after, and a failure there is reported, not fatal.
    source = _source(move)
    fence.lift(backend_for(source).placement(source), move.tenant.id)
    _set_status(move.tenant, TenantStatus.ACTIVE)
    try:
        _clear_target(_target(move))
    except Exception as exc:
        logger.warning("move rollback of %s: target not cleaned up: %s", move.tenant, exc)
        move.error = f"target not cleaned up: {exc}"
    move.phase = MovePhase.ROLLED_BACK
    move.save(update_fields=["phase", "error", "updated_at"])
    return move


def _run(move: TenantMove, say) -> TenantMove:
    from tenants.backends.migrate import code_state

    tenant = move.tenant
    source, target = _source(move), _target(move)
    src_placement = backend_for(source).placement(source)
    try:
        if move.phase == MovePhase.COPYING:
            # The destination first: a target that cannot be reached or created
            # fails here, while the tenant is still served from its source.
            say(3, "preparing the destination")
            try:
                _clear_target(target)  # leftovers of an interrupted attempt
                if target.isolation != Isolation.SHARED:
                    backend_for(target).provision(target)
            except Exception as exc:
                # Nothing was fenced or copied yet: give the tenant back at once.
                move.error = f"destination not ready: {exc}"
                move.phase = MovePhase.ROLLED_BACK
                move.save(update_fields=["error", "phase", "updated_at"])
                _set_status(tenant, TenantStatus.ACTIVE)
                raise MoveError(
                    f"the destination could not be prepared ({exc}); "
                    f"{tenant.subdomain} stays where it was"
                ) from exc
            say(5, "fencing the source and waiting for running transactions")
            try:
                fence.fence(src_placement, tenant.id, f"move to {target.isolation}")
            except fence.FenceTimeout as exc:
                raise MoveError(str(exc)) from None
            dst_placement = backend_for(target).placement(target)
            say(20, "copying rows")
            counts = copy_rows(src_placement, dst_placement, tenant.id)
            say(70, "verifying row counts and checksums")
            before = checksums(src_placement, tenant.id)
            after = checksums(dst_placement, tenant.id)
            if before != after:
                bad = sorted(t for t in before if before[t] != after.get(t))
                raise MoveError(f"verification failed for {', '.join(bad)}; nothing switched")
            fence.lift(dst_placement, tenant.id)  # a placement it once moved away from
            with transaction.atomic():
                Tenant.objects.filter(pk=tenant.pk).update(
                    isolation=target.isolation,
                    database_server=target.database_server,
                    database_name=target.database_name,
                    migration_state=(code_state() if target.isolation != Isolation.SHARED else ""),
                    status=TenantStatus.ACTIVE,
                )
                move.phase, move.counts = MovePhase.SWITCHED, counts
                move.source_checksums = {k: list(v) for k, v in before.items()}
                move.error = ""
                move.save()
            resolvers.invalidate(tenant.subdomain)
            say(85, "switched; checking the source for late writes")
        if move.phase == MovePhase.SWITCHED:
            now = {k: list(v) for k, v in checksums(src_placement, tenant.id).items()}
            if now != move.source_checksums:
                raise MoveError(
                    "the source changed after the copy (a late write); it is kept. "
                    "Compare it with the new placement, then re-run --resume"
                )
            if not move.keep_source:
                say(90, "removing the source copy")
                backend_for(source).deprovision(source)
            move.phase = MovePhase.DONE
            move.save(update_fields=["phase", "updated_at"])
            say(100, "done")
        return move
    except Exception as exc:
        move.error = str(exc)
        move.save(update_fields=["error", "updated_at"])
        raise
