"""Steps 4–6 of a move (tenants.backends.move): catch up, the switch, finishing.

The write pause lives here: the source is fenced, the last captured changes are
replayed and compared row by row, the registry switches atomically; then the
destination as switched is verified against the frozen source and the source is
removed (or kept, fenced). tenants.backends.move starts, resumes and rolls back moves
and calls these steps.
"""

from __future__ import annotations

import logging
import time

import psycopg
from django.db import transaction

from tenants import fence
from tenants.backends import backend_for, capture
from tenants.backends.capture import VerificationError, replay_round
from tenants.backends.copy import checksums, checksums_in
from tenants.database_config import OPERATOR_ROLE
from tenants.models import Isolation, MovePhase, Tenant, TenantMove, TenantStatus
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


def catch_up_and_switch(move: TenantMove, src_placement, dst_placement, say):
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


def finish(move: TenantMove, source: Tenant, src_placement, snapshot, say) -> None:
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
