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
an interrupted move can be resumed or (before the switch) rolled back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager

import psycopg
from django.db import transaction

from tenants import fence, resolvers
from tenants.backends import backend_for, capture
from tenants.backends.capture import VerificationError, replay_round
from tenants.backends.copy import checksums, checksums_in, copy_rows, delete_tenant_rows
from tenants.backends.database import tenant_database_name
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
from tenants.routers import OPERATOR_ALIAS

logger = logging.getLogger("tenants.move")

#: Switch once a replay round consumed at most this many captured changes: the final
#: round inside the write pause then has about as many to replay.
SWITCH_BACKLOG = 500
MAX_CATCH_UP_ROUNDS = 50
#: The fence's wait for the tenant's running transactions at the switch. New ones queue
#: behind it, so it bounds the pause; on timeout the fence is lifted and tried again.
SWITCH_FENCE_WAIT_SECONDS = 2.0
SWITCH_ATTEMPTS = 5


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


def _catch_up_and_switch(move: TenantMove, src_placement, dst_placement, say):
    """Replay until the backlog is small, verify, then switch; returns the held snapshot."""
    tid = move.tenant.id
    with src_placement.operator() as source, dst_placement.operator() as target:

        def catch_up() -> None:
            for _ in range(MAX_CATCH_UP_ROUNDS):
                if replay_round(source, target, tid).rows <= SWITCH_BACKLOG:
                    return

        say(60, "replaying the changes made during the copy")
        catch_up()
        say(70, "verifying row counts and checksums")
        try:
            verified = replay_round(source, target, tid, verify="full")
        except VerificationError as exc:
            raise MoveError(f"{exc}; nothing switched") from None
        move.source_checksums = {k: list(v) for k, v in verified.checksums.items()}
        move.counts = {k: v[0] for k, v in verified.checksums.items()}
        move.save(update_fields=["source_checksums", "counts", "updated_at"])
        for attempt in range(1, SWITCH_ATTEMPTS + 1):
            catch_up()
            say(80, "switching: writes pause")
            try:
                return _switch(move, source, target, src_placement, dst_placement)
            except fence.FenceTimeout as exc:
                logger.warning("move of %s: switch attempt %d: %s", move.tenant, attempt, exc)
        raise MoveError(
            f"{move.tenant.subdomain}'s transactions did not pause within "
            f"{SWITCH_FENCE_WAIT_SECONDS}s in {SWITCH_ATTEMPTS} attempts (a long transaction?); "
            "the tenant is served from its source. Re-run with --resume"
        )


def _switch(move: TenantMove, source, target, src_placement, dst_placement):
    """The write pause: fence, last changes, registry switched. Returns the held snapshot."""
    from tenants.backends.migrate import code_state

    tenant = move.tenant
    state = code_state() if move.target_isolation != Isolation.SHARED else ""
    # Everything the pause needs is connected before it starts.
    held = dst_placement.connect(role=OPERATOR_ROLE)
    src_fence, dst_fence = fence.connect(src_placement), fence.connect(dst_placement)
    steps: dict[str, float] = {}
    started = last = time.perf_counter()

    def step(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        steps[name], last = round((now - last) * 1000, 1), now

    try:
        fence.fence(
            src_placement,
            tenant.id,
            f"move to {move.target_isolation}",
            wait_seconds=SWITCH_FENCE_WAIT_SECONDS,
            conn=src_fence,
        )
        step("fence")
        try:
            # Fenced, and the transactions that were running have ended: what is captured
            # now is everything. Nothing but the mover writes the destination.
            for _ in range(3):
                replay_round(source, target, tenant.id, verify="keys")
                if not capture.pending(source, tenant.id, installed=True):
                    break
            else:
                raise MoveError("the source still changes behind its fence; nothing switched")
            step("replay")
            held.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            held.execute("SELECT 1")  # the destination's snapshot as switched, verified after
            fence.lift(dst_placement, tenant.id, conn=dst_fence)  # a placement it once left
            with transaction.atomic(using=OPERATOR_ALIAS):
                Tenant.objects.using(OPERATOR_ALIAS).filter(pk=tenant.pk).update(
                    isolation=move.target_isolation,
                    database_server=move.target_server,
                    database_name=move.target_database_name,
                    migration_state=state,
                    status=TenantStatus.ACTIVE,
                )
                move.phase, move.error = MovePhase.SWITCHED, ""
                move.save(using=OPERATOR_ALIAS, update_fields=["phase", "error", "updated_at"])
            step("switch")
        except BaseException as exc:
            held.close()
            fence.lift(src_placement, tenant.id, conn=src_fence)  # served from its source again
            if isinstance(exc, VerificationError):
                raise MoveError(f"{exc}; nothing switched") from None
            raise
    except BaseException:
        held.close()
        raise
    finally:
        src_fence.close()
        dst_fence.close()
    pause_ms = (time.perf_counter() - started) * 1000
    move.write_pause_ms = round(pause_ms, 1)
    move.save(update_fields=["write_pause_ms", "updated_at"])
    logger.info("move of %s switched; writes paused %.0f ms %s", tenant, pause_ms, steps)
    return held


def _finish(move: TenantMove, source: Tenant, src_placement, snapshot, say) -> None:
    tid = move.tenant.id
    say(85, "switched; verifying the new placement against the source")
    if snapshot is not None:
        with snapshot:
            switched = checksums_in(snapshot, tid)
        frozen = checksums(src_placement, tid)  # fenced since the switch
        if frozen != switched:
            bad = sorted(t for t in frozen if frozen[t] != switched.get(t))
            _keep_source(move)
            raise MoveError(
                f"the new placement differed from the source at the switch ({', '.join(bad)}); "
                "the source is kept (fenced) for comparison; --resume finishes the move "
                "without removing it"
            )
    if not move.keep_source:
        with src_placement.operator() as conn:
            late = capture.pending(conn, tid)
        if late:
            _keep_source(move)
            raise MoveError(
                f"the source changed after the switch ({late} late writes); it is kept "
                "(fenced) for comparison; --resume finishes the move without removing it"
            )
    capture.remove(src_placement, tid)
    if not move.keep_source:
        say(90, "removing the source copy")
        backend_for(source).deprovision(source)
    move.phase = MovePhase.DONE
    move.save(update_fields=["phase", "updated_at"])
    say(100, "done")


def _keep_source(move: TenantMove) -> None:
    move.keep_source = True
    move.save(update_fields=["keep_source", "updated_at"])
