"""Slow statements are attributed to their tenant and request, shown on that tenant's page only."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from psycopg import sql

from observability import slow_statements
from observability.models import SlowStatement
from operators.services import operator_create
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.db import base
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http
from tests.observability.test_sla_reports import _console

pytestmark = pytest.mark.django_db


def _statements(tenant) -> list[SlowStatement]:
    with dangerously_unscoped("test: read the test tenant's slow statements"):
        return list(SlowStatement.unscoped.filter(tenant_id=tenant.pk).order_by("-at"))


def _wait_for_statements(tenant, timeout: float = 15) -> list[SlowStatement]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _statements(tenant)
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no slow statement recorded for {tenant.subdomain}")


@pytest.mark.slow
def test_a_slow_statement_of_a_request_shows_on_its_tenant_page_and_no_other(
    committed_db, test_database_url
):
    slow = TenantFactory(subdomain=unique_subdomain("slowsql"))
    other = TenantFactory(subdomain=unique_subdomain("othersql"))
    operator = operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )
    request_id = f"slow-{uuid.uuid4().hex}"
    env = {
        "TEST_TENANT_URLCONF": "tests.observability.slow_urls",
        "SLA_FLUSH_SECONDS": "0.3",
        "SLOW_STATEMENT_MS": "150",
    }
    with LiveServer(test_database_url, env, workers=2) as server:
        status, headers, _ = http(
            "GET",
            server.url + "/test-slow-sql/?s=0.4",
            f"{slow.subdomain}.localhost",
            headers={"X-Request-ID": request_id},
        )
        assert (status, headers["X-Request-ID"]) == (200, request_id)
        # The other tenant's requests are fast: nothing of theirs is slow.
        for _ in range(3):
            assert (
                http("GET", server.url + "/accounts/login/", f"{other.subdomain}.localhost")[0]
                == 200
            )
        found = _wait_for_statements(slow)
    # On a loaded machine another statement of that request may be slow too: same request.
    assert {s.request_id for s in found} == {request_id}
    (noted,) = [s for s in found if "pg_sleep" in s.statement]
    assert noted.statement == "SELECT pg_sleep(%s) WHERE ? <> ?"
    assert noted.route == "/test-slow-sql/"
    assert noted.request_id == request_id
    assert 390 <= noted.duration_ms < 5000
    assert _statements(other) == []

    console = _console(operator)
    page = console.get(f"/tenants/{slow.pk}/sla/").content.decode()
    assert request_id in page and "pg_sleep" in page and "/test-slow-sql/" in page
    assert "slow-marker-literal" not in page
    other_page = console.get(f"/tenants/{other.pk}/sla/").content.decode()
    assert request_id not in other_page and "pg_sleep" not in other_page
    assert "None recorded." in other_page
    # Through RLS (the app role), a tenant reads its own statements only.
    with tenant_scope(other):
        assert SlowStatement.objects.count() == 0
    with tenant_scope(slow):
        assert [s.request_id for s in SlowStatement.objects.all()] == [request_id]


def test_literals_become_placeholders():
    text = (
        "SELECT * FROM t WHERE a = 'x''y' AND b = E'z' AND c = 42 AND d = -1.5e3 "
        'AND e = $tag$body$tag$ AND f = $$x$$ AND "col2" = %s AND t1.x = $1'
    )
    assert slow_statements.normalise(text) == (
        "SELECT * FROM t WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ? AND f = ? "
        'AND "col2" = %s AND t1.x = $1'
    )


def test_the_cursor_reports_statements_over_the_threshold_with_their_tenant(tenant_a, monkeypatch):
    seen = []
    monkeypatch.setattr(base, "SLOW_STATEMENT_SECONDS", 0.05)
    monkeypatch.setattr(base, "slow_statement_observers", [lambda s, sec: seen.append((s, sec))])
    with connections["default"].cursor() as cur:
        cur.execute("SELECT 1")
        with tenant_scope(tenant_a):
            cur.execute("SELECT pg_sleep(0.06)")
    assert [s for s, _ in seen] == ["SELECT pg_sleep(0.06)"]
    assert seen[0][1] >= 0.06


def test_statements_without_a_tenant_are_not_noted_composed_ones_are_text(tenant_a):
    slow_statements.drain()
    slow_statements.observe("SELECT 1", 1.0)
    assert slow_statements.drain() == []
    with tenant_scope(tenant_a):
        slow_statements.observe("SELECT 2", 1.0)
        slow_statements.observe(sql.SQL("SELECT {}").format(sql.Literal(3)), 1.0)
    noted = slow_statements.drain()
    assert [(n[0], n[3]) for n in noted] == [(tenant_a.pk, "SELECT 2"), (tenant_a.pk, "SELECT 3")]


def test_each_tenant_keeps_its_latest_statements_within_retention(committed_db, settings):
    settings.SLOW_STATEMENTS_KEPT = 3
    a = TenantFactory(subdomain=unique_subdomain("keep-a"))
    b = TenantFactory(subdomain=unique_subdomain("keep-b"))
    now = time.time()
    rows = [(a.pk, now - 100 + i, 300.0, f"SELECT {i}", "/r/", "") for i in range(5)]
    rows.append((b.pk, now - 15 * 86400, 300.0, "SELECT 'old'", "/r/", ""))
    rows.append((b.pk, now, 300.0, "SELECT 'new'", "/r/", ""))
    slow_statements.write_statements(rows)
    with (
        dangerously_unscoped("test: prune slow statements"),
        connections["operator"].cursor() as cur,
    ):
        slow_statements.prune(cur, now=datetime.now(UTC) + timedelta(seconds=1))
    assert [s.at.timestamp() for s in _statements(a)] == pytest.approx(
        [now - 96, now - 97, now - 98]
    )
    assert [s.statement for s in _statements(b)] == ["SELECT ?"]
