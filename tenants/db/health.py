"""The pool's check on checkout, without a round trip for a connection the server never spoke on.

psycopg_pool's stock check sends an empty query on every checkout: one round trip
per request and alias. Here a checked-out connection is first looked at locally:
an idle connection has nothing to read unless the server closed it or said why
(pg_terminate_backend, a restart, idle_session_timeout: a FATAL message, then EOF).
Then, or when the connection sat unused longer than IDLE_CHECK_SECONDS (a network
path that dropped it silently shows no sign on the socket), the stock check runs
and a dead connection is replaced before the request sees it. A connection that
dies between the check and the request's first statement fails that request with
an OperationalError, as it would with the stock check; Django then discards it.
"""

from __future__ import annotations

import select
import time

from psycopg_pool import ConnectionPool

IDLE_CHECK_SECONDS = 30.0
_CHECKED_AT = "_tenantry_checked_at"


def server_spoke(conn) -> bool:
    """Bytes or EOF waiting on an idle connection (or no socket at all)."""
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except Exception:  # closed, no socket: let the stock check decide
        return True
    return bool(readable)


def check_connection(conn) -> None:
    now = time.monotonic()
    last = getattr(conn, _CHECKED_AT, None)
    if last is None or now - last > IDLE_CHECK_SECONDS or server_spoke(conn):
        ConnectionPool.check_connection(conn)
    setattr(conn, _CHECKED_AT, now)


def with_local_check(pool):
    """`pool` checking its connections with check_connection, not psycopg_pool's stock check.

    Django gives a pool the stock check when CONN_HEALTH_CHECKS is on; a pool without a
    check (None) or with another one is left as it is.
    """
    if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
        pool._check = check_connection
    return pool
