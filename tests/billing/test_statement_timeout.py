"""Noisy neighbours: each tenant's transactions carry its plan's statement timeout."""

import threading
import time

import pytest
from django.db import OperationalError, connections, transaction
from psycopg.errors import QueryCanceled

from billing.subscriptions import subscription_change_plan
from tenants import resolvers
from tenants.context import tenant_scope
from tests.billing.conftest import plan, private_plan
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory

pytestmark = pytest.mark.slow


def sleep_in_scope(tenant, seconds: float, results: dict, key: str, start: threading.Barrier):
    try:
        start.wait(timeout=10)
        began = time.monotonic()
        try:
            with tenant_scope(tenant), transaction.atomic(), connections["default"].cursor() as cur:
                cur.execute("SELECT pg_sleep(%s), 'done'", [seconds])
                results[key] = ("ok", cur.fetchone()[1], time.monotonic() - began)
        except OperationalError as exc:
            results[key] = ("cancelled", exc.__cause__, time.monotonic() - began)
    finally:
        connections.close_all()


def test_heavy_query_is_cancelled_while_the_neighbour_runs(committed_db):
    tight = TenantFactory(
        subdomain=unique_subdomain("noisy"), plan=private_plan(statement_timeout_ms=300)
    )
    neighbour = TenantFactory(subdomain=unique_subdomain("quiet"), plan=plan("pro"))  # 5 s
    results: dict = {}
    start = threading.Barrier(2)
    threads = [
        threading.Thread(target=sleep_in_scope, args=(tight, 3, results, "tight", start)),
        threading.Thread(target=sleep_in_scope, args=(neighbour, 1, results, "neighbour", start)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    kind, cause, elapsed = results["tight"]
    assert kind == "cancelled"
    assert isinstance(cause, QueryCanceled)
    assert "statement timeout" in str(cause)
    assert 0.25 < elapsed < 1.5, elapsed  # stopped near 300 ms, not after 3 s

    kind, value, elapsed = results["neighbour"]
    assert (kind, value) == ("ok", "done")
    assert elapsed >= 1.0


def test_the_timeout_follows_a_plan_change_through_the_resolver(committed_db):
    """After a commit, the next request's tenant (via the resolver cache) has the new timeout."""
    short = private_plan(statement_timeout_ms=250)
    tenant = TenantFactory(subdomain=unique_subdomain("follow"), plan=plan("pro"))
    resolvers.clear_local()

    def run(seconds):
        cached = resolvers.tenant_for_subdomain(tenant.subdomain)
        try:
            with tenant_scope(cached), transaction.atomic(), connections["default"].cursor() as c:
                c.execute("SELECT pg_sleep(%s)", [seconds])
            return "ok"
        except OperationalError as exc:
            assert isinstance(exc.__cause__, QueryCanceled)
            return "cancelled"

    assert run(0.5) == "ok"  # Pro: 5 s
    subscription_change_plan(tenant=tenant, plan_code=short.code)  # commits: invalidates on commit
    assert run(0.5) == "cancelled"  # 250 ms now
    subscription_change_plan(tenant=tenant, plan_code="pro")
    assert run(0.5) == "ok"
