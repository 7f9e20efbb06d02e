"""The pool's checkout check: no round trip for a healthy connection, a dead one replaced.

Real PostgreSQL: a backend ended by pg_terminate_backend (what a restart, an
operator or idle_session_timeout does) is noticed on the socket and replaced
before a statement is sent on it.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connections

from tenants.db.health import check_connection, server_spoke


def _last_query(admin, pid):
    return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def _wait_until_readable(conn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not server_spoke(conn) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_healthy_connection_is_checked_without_a_statement(test_database_url):
    with (
        psycopg.connect(test_database_url, autocommit=True) as admin,
        psycopg.connect(test_database_url, autocommit=True) as conn,
    ):
        check_connection(conn)  # first checkout: the stock check (one empty query)
        conn.execute("SELECT 'marker-4711'")
        check_connection(conn)
        check_connection(conn)
        assert _last_query(admin, conn.info.backend_pid) == "SELECT 'marker-4711'"


def test_a_terminated_connection_fails_the_check(test_database_url):
    with psycopg.connect(test_database_url, autocommit=True) as admin:
        conn = psycopg.connect(test_database_url, autocommit=True)
        check_connection(conn)
        admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        _wait_until_readable(conn)
        with pytest.raises(psycopg.OperationalError):
            check_connection(conn)
        conn.close()


def test_the_pool_replaces_a_terminated_connection_before_the_request_uses_it(
    committed_db, test_database_url
):
    conn = connections["default"]
    if conn.pool is None:
        pytest.skip("no pool configured")
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    raw = conn.connection
    conn.close()  # back to the pool
    with psycopg.connect(test_database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    _wait_until_readable(raw)
    with conn.cursor() as cur:  # the same pool: the dead connection is not handed out
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid
    conn.close()
