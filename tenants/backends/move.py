"""Moving a tenant between placements online: it reads and writes until the switch.

1. Prepare the destination (a failure gives the tenant back at once).
2. Capture: triggers on the source record every row of the tenant that changes
   (tenants.backends.capture), installed before the copy's snapshot is taken.
3. Copy: binary COPY from one REPEATABLE READ snapshot → phase `catching_up`.
4. Catch up: replay rounds (captured rows re-read from the source, written or
   deleted at the destination) until the backlog is small; one round verifies
   everything (row counts + checksums of every table, both sides, in the round's
   snapshot).
5. Switch — the only write pause: fence the source (tenants.fence: the app's
   transactions of the tenant are refused there, running ones waited out),
   replay the last changes and compare them row by row, take a snapshot of the
   destination, switch the registry atomically → phase `switched`. Any failure
   before the switch lifts the fence: the tenant is served from its source again
   and the move can be resumed or rolled back.
6. Finish: the destination as it was at the switch (the snapshot) is verified in
   full against the frozen source; a capture row written after the switch is a
   late write (the source is then kept); the capture is removed, and so is the
   source unless --keep-source (a kept source stays fenced, so a process still
   holding the old placement in its cache gets a retryable 503, never a write
   the tenant then loses).

The tenant stays `active` throughout. Every phase is recorded in TenantMove, so
an interrupted move can be resumed or (before the switch) rolled back. Steps 4–6
(catching up, the switch, finishing) are tenants.backends.switch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager

import psycopg

from tenants import fence, resolvers
from tenants.backends import backend_for, capture
from tenants.backends.copy import copy_rows, delete_tenant_rows, refresh_statistics
from tenants.backends.database import tenant_database_name
from tenants.backends.switch import MoveError
from tenants.backends.switch import catch_up_and_switch as _catch_up_and_switch
from tenants.backends.switch import finish as _finish
from tenants.database_config import OPERATOR_ROLE
from tenants.models import (
    OPEN_MOVE_PHASES,
    Isolation,
    MovePhase,
    Tenant,
    TenantMove,
    TenantStatus,
)
from tenants.residency import redact

logger = logging.getLogger("tenants.move")


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
    open_move = TenantMove.objects.filter(tenant=tenant, phase__in=OPEN_MOVE_PHASES).first()
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
    return _run(move, say)


def tenant_move_resume(*, tenant: Tenant, progress=None) -> TenantMove:
    move = TenantMove.objects.filter(tenant=tenant, phase__in=OPEN_MOVE_PHASES).first()
    if move is None:
        raise MoveError(f"no move of {tenant.subdomain} to resume")
    return _run(move, progress or (lambda pct, msg: None))


def tenant_move_rollback(*, tenant: Tenant) -> TenantMove:
    move = TenantMove.objects.filter(tenant=tenant, phase__in=OPEN_MOVE_PHASES).first()
    if move is None:
        raise MoveError(f"no move of {tenant.subdomain} to roll back")
    if move.phase == MovePhase.SWITCHED:
        raise MoveError(
            "the move already switched; move the tenant back with "
            f"move_tenant {tenant.subdomain} --to {move.source_isolation}"
        )
    # Serve the tenant from its source again first (a move interrupted inside its write
    # pause left the source fenced); the capture and the half-made target are only
    # cleaned up after, and a failure there is reported, not fatal.
    source = _source(move)
    src_placement = backend_for(source).placement(source)
    with _one_mover(src_placement, move.tenant):  # not under a mover that is still running
        fence.lift(src_placement, move.tenant.id)
        if move.tenant.status == TenantStatus.MOVING:  # set by moves of earlier releases
            _set_status(move.tenant, TenantStatus.ACTIVE)
        try:
            capture.remove(src_placement, move.tenant.id)
            _clear_target(_target(move))
        except Exception as exc:
            logger.warning("move rollback of %s: not cleaned up: %s", move.tenant, exc)
            move.error = f"capture or target not cleaned up: {_recorded(exc)}"
        move.phase = MovePhase.ROLLED_BACK
        move.save(update_fields=["phase", "error", "updated_at"])
    return move


def _run(move: TenantMove, say) -> TenantMove:
    tenant = move.tenant
    source, target = _source(move), _target(move)
    src_placement = backend_for(source).placement(source)
    try:
        with _one_mover(src_placement, tenant):
            snapshot = None
            if move.phase == MovePhase.COPYING:
                _prepare_destination(move, target, say)
                dst_placement = backend_for(target).placement(target)
                say(8, "capturing the tenant's changes on the source")
                capture.install(src_placement, tenant.id)
                say(10, "copying rows (the tenant keeps reading and writing)")
                move.counts = copy_rows(src_placement, dst_placement, tenant.id)
                refresh_statistics(dst_placement)
                move.phase, move.error = MovePhase.CATCHING_UP, ""
                move.save(update_fields=["counts", "phase", "error", "updated_at"])
            if move.phase == MovePhase.CATCHING_UP:
                dst_placement = backend_for(target).placement(target)
                snapshot = _catch_up_and_switch(move, src_placement, dst_placement, say)
                resolvers.invalidate(tenant.subdomain)
            if move.phase == MovePhase.SWITCHED:
                _finish(move, source, src_placement, snapshot, say)
        return move
    except Exception as exc:
        move.error = _recorded(exc)
        move.save(update_fields=["error", "updated_at"])
        raise


def _recorded(exc: BaseException) -> str:
    """An error as the (global) move record keeps it: no row values, no addresses.

    PostgreSQL names row values only in an error's DETAIL, after its first line; the
    full error is in the mover's log and exception.
    """
    text = str(exc)
    if isinstance(exc, psycopg.Error):
        text = next(iter(text.splitlines()), "")
    return redact(text)


def _placement_of(shadow: Tenant):
    return backend_for(shadow).placement(shadow)


@contextmanager
def _one_mover(placement, tenant):
    """One process at a time drives a tenant's move (two would replay rounds out of order)."""
    conn = placement.connect(role=OPERATOR_ROLE, autocommit=True)
    try:
        got = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [f"move:{tenant.id}"]
        ).fetchone()[0]
        if not got:
            raise MoveError(f"another process is moving {tenant.subdomain} right now")
        yield
    finally:
        conn.close()  # ends the session, and so its lock


def _prepare_destination(move: TenantMove, target: Tenant, say) -> None:
    # The destination first: a target that cannot be reached or created fails here,
    # while nothing is captured yet and the tenant is served from its source.
    say(3, "preparing the destination")
    try:
        _clear_target(target)  # leftovers of an interrupted attempt
        if target.isolation != Isolation.SHARED:
            backend_for(target).provision(target)
    except Exception as exc:
        move.error = f"destination not ready: {_recorded(exc)}"
        try:  # a resumed move may have installed it already
            capture.remove(_placement_of(_source(move)), move.tenant.id)
        except Exception as cleanup:
            logger.warning("move of %s: capture not removed: %s", move.tenant, cleanup)
            move.error += f"; capture not removed: {_recorded(cleanup)}"
        move.phase = MovePhase.ROLLED_BACK
        move.save(update_fields=["error", "phase", "updated_at"])
        if move.tenant.status == TenantStatus.MOVING:  # set by moves of earlier releases
            _set_status(move.tenant, TenantStatus.ACTIVE)
        raise MoveError(
            f"the destination could not be prepared ({exc}); "
            f"{move.tenant.subdomain} stays where it was"
        ) from exc
