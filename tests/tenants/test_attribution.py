"""Every statement the app sends names its tenant and request in PostgreSQL itself.

Through the real door: a request to a running server is held on a lock the test
takes, and pg_stat_activity shows the waiting statement's tenant, request id and
route group in the statement's leading sqlcommenter comment; the connection's
application_name is never touched.
"""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from billing.limits import _lock_key
from tenants.attribution import _render, current_tag, request_tag, tag_route_group
from tenants.database_config import APP_ROLE
from tests.billing.conftest import private_plan
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http
from tests.live_client import tenant_host

pytestmark = pytest.mark.slow


def test_the_tag_is_an_inert_leading_comment():
    with request_tag(tenant="acme", request_id="abc'; DROP TABLE x; --*/"):
        tag_route_group("api")
        tag = current_tag()
    assert (
        tag == "/*application='tenantry',request_id='abcDROPTABLEx--',route='api',tenant='acme'*/ "
    )
    assert current_tag() == ""
    body = tag[2:-3]
    assert "*/" not in body and "/*" not in body and "%" not in body
    long = _render("a" * 63, "r" * 32, "g" * 24)
    assert "request_id='" + "r" * 32 + "'" in long and "tenant='" + "a" * 63 + "'" in long


def test_every_statement_of_a_request_carries_the_tag(tenant_a):
    """Autocommit statements and each statement of a transaction, not only its first."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tenants.context import tenant_scope

    with tenant_scope(tenant_a), request_tag(tenant=tenant_a.subdomain, request_id="req-1"):
        tag = current_tag()
        with CaptureQueriesContext(connection) as ctx, connection.cursor() as cur:
            cur.execute("SELECT 1")
            with transaction.atomic():
                cur.execute("SELECT 2")
                cur.execute("SELECT 3")
    sent = [q["sql"] for q in ctx.captured_queries]
    assert sent and all(q.startswith(tag) for q in sent if q.endswith(("1", "2", "3"))), sent


def _activity(conninfo, pattern):
    """Statements of the app role whose text matches `pattern`, other than idle ones."""
    with psycopg.connect(conninfo, autocommit=True) as c:
        return c.execute(
            "SELECT application_name, wait_event_type, state, query FROM pg_stat_activity "
            "WHERE usename = %s AND query LIKE %s AND state <> 'idle'",
            [APP_ROLE, pattern],
        ).fetchall()


def test_a_held_request_shows_its_tenant_and_request_in_pg_stat_activity(
    committed_db, test_database_url
):
    from accounts.services import token_create
    from tenants.context import tenant_scope

    plan = private_plan(max_projects=100, statement_timeout_ms=30_000)
    tenant = TenantFactory(subdomain=unique_subdomain("attr"), plan=plan)
    with tenant_scope(tenant):
        secret = token_create(tenant=tenant, name="a", scopes=["write"]).secret
    request_id = "attr-req-4711"
    headers = {
        "Authorization": f"Bearer {secret}",
        "Content-Type": "application/json",
        "X-Request-ID": request_id,
    }
    with LiveServer(test_database_url, workers=1) as server:
        results = []
        with psycopg.connect(test_database_url) as holder:
            # The exclusive side of the plan lock every creation takes shared.
            holder.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [_lock_key(tenant, "plan")],
            )
            thread = threading.Thread(
                target=lambda: results.append(
                    http(
                        "POST",
                        server.url + "/api/v1/projects/",
                        tenant_host(tenant),
                        json.dumps({"name": "held"}).encode(),
                        headers,
                        timeout=30,
                    )
                )
            )
            thread.start()
            seen, deadline = [], time.monotonic() + 15
            while not seen and time.monotonic() < deadline:
                # The request's earlier statements carry the tag too: wait for the held one.
                seen = [
                    row
                    for row in _activity(test_database_url, f"%tenant='{tenant.subdomain}'*/%")
                    if row[1] == "Lock"
                ]
                time.sleep(0.05)
            holder.rollback()
        thread.join(30)
        assert results and results[0][0] == 201, results
        assert seen, "the held statement was not attributed"
        name, wait_type, _state, query = seen[0]
        assert query.startswith(
            f"/*application='tenantry',request_id='{request_id}',route='api',"
            f"tenant='{tenant.subdomain}'*/ "
        ), query
        assert wait_type == "Lock" and "saas_limit_check" in query
        # Nothing is set on the connection: its own name stays, during and after.
        assert name == server.application_name
        time.sleep(0.2)
        assert _activity(test_database_url, f"%tenant='{tenant.subdomain}'*/%") == []
