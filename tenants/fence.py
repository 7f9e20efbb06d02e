"""Fencing a placement: the database itself refuses a tenant's stale writers.

Registry caches are bounded (tenants.resolvers.REGISTRY_MAX_AGE), not exact: a
process may act on a tenant's old placement for that long. Steps that cannot
be undone — the switch of a move, removing a source, deleting a tenant — fence
the old placement first: a row in `public.tenants_fence` of the placement's
database. `saas_enter_tenant()`, the first statement of every tenant
transaction, refuses a fenced placement with SQLSTATE 55T01, and holds the
tenant's shared advisory lock for the transaction; `fence()` takes the
exclusive lock once after writing the row, so it returns only when every
transaction that started before the fence has ended. After `fence()` no
statement of the app reaches the placement for that tenant: a stale process
gets an error (answered 503, its cache dropped), and the retry is served from
the registry's current placement.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import psycopg

from tenants.backends.placement import Placement
from tenants.database_config import OPERATOR_ROLE
from tenants.sqlstate import has_sqlstate

logger = logging.getLogger("tenants.fence")

SQLSTATE = "55T01"
WAIT_SECONDS = 30  # how long fence() waits for in-flight transactions


class FenceTimeout(Exception):
    """In-flight transactions of the tenant did not end in time; the fence was lifted."""


def is_fence_error(exc: BaseException | None) -> bool:
    """True for the refusal saas_enter_tenant() raises on a fenced placement."""
    return has_sqlstate(exc, SQLSTATE)


def _connect(placement: Placement) -> psycopg.Connection:
    return placement.connect(role=OPERATOR_ROLE, autocommit=True)


def _wait_for_running(conn, tid: str, wait_seconds: float = WAIT_SECONDS) -> bool:
    """Take and release the tenant's exclusive lock: True once no transaction holds it."""
    conn.execute(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'")
    try:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [tid])
    except psycopg.errors.LockNotAvailable:
        return False
    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [tid])
    return True


def drain(placement: Placement, tenant_id) -> None:
    """Wait until every transaction of the tenant running in `placement` has ended."""
    tid = str(tenant_id)
    with _connect(placement) as conn:
        if not _wait_for_running(conn, tid):
            raise FenceTimeout(
                f"transactions of tenant {tid} in {placement.label} still running after "
                f"{WAIT_SECONDS}s"
            )


@contextmanager
def _using(placement: Placement, conn):
    if conn is not None:
        yield conn
        return
    with _connect(placement) as own:
        yield own


def connect(placement: Placement) -> psycopg.Connection:
    """A connection for fence()/lift() opened ahead of time (a move's switch saves its setup)."""
    return _connect(placement)


def fence(
    placement: Placement,
    tenant_id,
    reason: str,
    *,
    wait_seconds: float = WAIT_SECONDS,
    conn: psycopg.Connection | None = None,
) -> None:
    """Refuse the app's transactions of `tenant_id` in `placement`, and wait out those running.

    New transactions of the tenant queue behind the wait (their shared lock waits for the
    exclusive one), then are refused: an online move keeps `wait_seconds` short, so a long
    transaction makes it give up and try again later rather than stall the tenant.
    """
    tid = str(tenant_id)
    with _using(placement, conn) as conn:
        conn.execute(
            "INSERT INTO public.tenants_fence (tenant_id, placement, reason) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant_id, placement) DO UPDATE SET reason = EXCLUDED.reason",
            [tid, placement.fence_key, reason],
        )
        if not _wait_for_running(conn, tid, wait_seconds):
            conn.execute(
                "DELETE FROM public.tenants_fence WHERE tenant_id = %s AND placement = %s",
                [tid, placement.fence_key],
            )
            raise FenceTimeout(
                f"transactions of tenant {tid} in {placement.label} still running after "
                f"{wait_seconds}s; nothing was fenced"
            )
    logger.info("fenced tenant %s in %s (%s)", tid, placement.label, reason)


def lift(placement: Placement, tenant_id, *, conn: psycopg.Connection | None = None) -> None:
    """Serve `tenant_id` from `placement` again (a new placement, a rolled-back move)."""
    with _using(placement, conn) as conn:
        conn.execute(
            "DELETE FROM public.tenants_fence WHERE tenant_id = %s AND placement = %s",
            [str(tenant_id), placement.fence_key],
        )


def fences(placement: Placement, tenant_id) -> list[tuple[str, str]]:
    """(placement, reason) rows for a tenant in the placement's database (operator view)."""
    with _connect(placement) as conn:
        return conn.execute(
            "SELECT placement, reason FROM public.tenants_fence WHERE tenant_id = %s "
            "ORDER BY placement",
            [str(tenant_id)],
        ).fetchall()
