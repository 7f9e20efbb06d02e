"""Every statement the app sends names its tenant and request in PostgreSQL itself.

Through the real door: a request to a running server is held on a lock the test
takes, and pg_stat_activity shows the waiting statement's tenant, request id and
route group; when the transaction ends the connection's own name comes back.
"""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from billing.limits import _lock_key
from tenants.attribution import (
    MAX_LENGTH,
    _render,
    current_tag,
    request_tag,
    tag_route_group,
    with_attribution,
)
from tenants.database_config import APP_ROLE
from tests.billing.conftest import private_plan
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http
from tests.live_client import tenant_host

pytestmark = pytest.mark.slow


def test_the_tag_is_inert_and_fits_application_name():
    with request_tag(tenant="acme", request_id="abc'; DROP TABLE x; --"):
        tag_route_group("api")
        tag = current_tag()
    assert tag == "tenantry t=acme r=abcDROPTABLEx-- g=api"
    assert "'" not in tag and current_tag() == ""
    long = _render("a" * 63, "r" * 32, "g" * 24)
    assert len(long) <= MAX_LENGTH and " r=" + "r" * 32 in long
    prefix = ("SELECT public.saas_enter_tenant('x', 'p', '', 0, '')", 1)
    assert with_attribution(prefix, "tenantry t=a")[0].endswith(", 'tenantry t=a')")
    assert with_attribution(prefix, "") == prefix


def _activity(conninfo, pattern):
    with psycopg.connect(conninfo, autocommit=True) as c:
        return c.execute(
            "SELECT application_name, wait_event_type, state, query FROM pg_stat_activity "
            "WHERE usename = %s AND application_name LIKE %s",
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
                seen = _activity(test_database_url, f"tenantry t={tenant.subdomain} %")
                time.sleep(0.05)
            holder.rollback()
        thread.join(30)
        assert results and results[0][0] == 201, results
        assert seen, "the held statement was not attributed"
        name, wait_type, _state, query = seen[0]
        assert name == f"tenantry t={tenant.subdomain} r={request_id} g=api"
        assert wait_type == "Lock" and "saas_limit_lock" in query
        # Transaction-local: once it ended, no connection keeps the tenant's name.
        time.sleep(0.2)
        assert _activity(test_database_url, f"tenantry t={tenant.subdomain} %") == []
