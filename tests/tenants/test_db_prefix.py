"""tenants.db sends the enter call when the transaction's context changes, and only then.

Inside a request every statement compares the wanted prefix (the tenant's enter call)
with the one the transaction carries, by identity while the tenant stays the same
object; the request's tag is a comment in front of each statement, never part of the
context, so a new tag costs no enter call and a switched tenant is still seen.
"""

from __future__ import annotations

from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from tenants.attribution import current_tag, request_tag, tag_route_group
from tenants.context import tenant_scope

ENTER = "saas_enter_tenant("


def _run(conn, n):
    """n statements; (enter calls sent, the tenant and name they ran under, the tags sent)."""
    with CaptureQueriesContext(conn) as ctx:
        for _ in range(n):
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT current_setting('app.current_tenant'), "
                    "current_setting('application_name')"
                )
                seen = cur.fetchone()
    sent = [q["sql"] for q in ctx.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    return sum(ENTER in q for q in sent), seen, {q.split("*/", 1)[0] + "*/ " for q in sent}


def test_a_request_sends_its_enter_call_once_per_transaction_and_again_on_change(
    tenant_a, tenant_b
):
    conn = connections["default"]
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('application_name')")
        own_name = cur.fetchone()[0]
    with request_tag(tenant=tenant_a.subdomain, request_id="req-1"), transaction.atomic():
        tag = current_tag()
        a, b = (str(tenant_a.pk), own_name), (str(tenant_b.pk), own_name)
        with tenant_scope(tenant_a):
            assert _run(conn, 3) == (1, a, {tag})
            assert _run(conn, 2) == (0, a, {tag})
            tag_route_group("api")  # a new tag: the statements say so, no enter call
            renamed = current_tag()
            assert renamed != tag and "route='api'" in renamed
            assert _run(conn, 2) == (0, a, {renamed})
            with tenant_scope(tenant_b):  # same tag, another tenant
                assert _run(conn, 2) == (1, b, {renamed})
            assert _run(conn, 1) == (1, a, {renamed})
    # The next request on the same connection: its own tag, the enter call sent once.
    with (
        request_tag(tenant=tenant_a.subdomain, request_id="req-2"),
        transaction.atomic(),
        tenant_scope(tenant_a),
    ):
        assert _run(conn, 2) == (1, a, {current_tag()})


def test_what_rides_in_front_leaves_the_statement_to_psycopgs_template_cache(tenant_a, tenant_b):
    """The tag and the enter call are put in front after psycopg merged the parameters.

    psycopg caches that merge by the statement's text. With the request id and the
    tenant's enter call inside the text, no statement was ever found in the cache (the
    issue's profile: 0 hits in 400); the statement alone is the same text for every
    tenant and request. A `%` in the statement and the parameters still merge as before.
    """
    from psycopg import _queries

    conn = connections["default"]
    statement = "SELECT %s::text || '%%', current_setting('app.current_tenant')"
    seen = []
    for i, tenant in enumerate([tenant_a, tenant_b, tenant_a, tenant_b]):
        with (
            request_tag(tenant=tenant.subdomain, request_id=f"req-{i}"),
            transaction.atomic(),
            tenant_scope(tenant),
            CaptureQueriesContext(conn) as ctx,
            conn.cursor() as cur,
        ):
            before = _queries._query2pg_client.cache_info().hits
            cur.execute(statement, [f"v{i}"])
            seen.append((cur.fetchone(), _queries._query2pg_client.cache_info().hits - before))
            sent = ctx.captured_queries[-1]["sql"]
            assert sent.startswith(current_tag()) and ENTER in sent
    assert [row for row, _ in seen] == [
        (f"v{i}%", str(t.pk)) for i, t in enumerate([tenant_a, tenant_b, tenant_a, tenant_b])
    ]
    assert [hit for _, hit in seen][1:] == [1, 1, 1]  # found for every later tenant and request
