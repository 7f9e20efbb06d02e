"""tenants.db sends the enter call when the transaction's context changes, and only then.

Inside a request every statement compares the wanted prefix (the tenant's enter call
naming the request's tag) with the one the transaction carries; the comparison is by
identity while tenant and tag stay the same objects, so these pin down that a changed tag
or tenant is still seen.
"""

from __future__ import annotations

from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from tenants.attribution import request_tag, tag_route_group
from tenants.context import tenant_scope

ENTER = "saas_enter_tenant("


def _run(conn, n):
    """n statements; (how many carried an enter call, the tenant and name they ran under)."""
    with CaptureQueriesContext(conn) as ctx:
        for _ in range(n):
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT current_setting('app.current_tenant'), "
                    "current_setting('application_name')"
                )
                seen = cur.fetchone()
    return sum(ENTER in q["sql"] for q in ctx.captured_queries), seen


def test_a_request_sends_its_enter_call_once_per_transaction_and_again_on_change(
    tenant_a, tenant_b
):
    conn = connections["default"]
    with request_tag(tenant=tenant_a.subdomain, request_id="req-1"), transaction.atomic():
        tag = f"tenantry t={tenant_a.subdomain} r=req-1"
        with tenant_scope(tenant_a):
            assert _run(conn, 3) == (1, (str(tenant_a.pk), tag))
            assert _run(conn, 2) == (0, (str(tenant_a.pk), tag))
            tag_route_group("api")  # a new tag: the transaction is renamed
            assert _run(conn, 2) == (1, (str(tenant_a.pk), f"{tag} g=api"))
            with tenant_scope(tenant_b):  # same tag, another tenant
                assert _run(conn, 2) == (1, (str(tenant_b.pk), f"{tag} g=api"))
            assert _run(conn, 1) == (1, (str(tenant_a.pk), f"{tag} g=api"))
    # The next request on the same connection: its own name, sent once.
    with (
        request_tag(tenant=tenant_a.subdomain, request_id="req-2"),
        transaction.atomic(),
        tenant_scope(tenant_a),
    ):
        tag = f"tenantry t={tenant_a.subdomain} r=req-2"
        assert _run(conn, 2) == (1, (str(tenant_a.pk), tag))
