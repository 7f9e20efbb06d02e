"""The operator's SLA pages in a real Chromium: fleet view and a tenant's latency charts."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from observability import slow_statements
from observability.models import LATENCY_BOUNDS_MS
from observability.recorder import write_rows
from observability.rollups import sla_rollup
from operators.services import operator_create
from tests.browser.conftest import copy_to_docs
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]
N = len(LATENCY_BOUNDS_MS) + 1


def _history(tenant, *, typical_ms: int, hours: int, seed: int, failing: bool) -> None:
    """A request history over the past `hours`, rolled up as the beat job would have.

    The page judges the month so far, which early on the 1st holds only the current minute:
    the newest requests are in the current minute, and only a failing tenant has errors, so
    the verdicts do not depend on the day the test runs."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = {}
    for h in range(hours, -1, -1):
        offset = rng.randint(0, 50)
        at = now - timedelta(hours=h, minutes=offset if h else 0)
        buckets = [0] * N
        for _ in range(60):
            ms = typical_ms * rng.lognormvariate(0, 0.6 if h % 9 else 1.2)
            buckets[sum(1 for b in LATENCY_BOUNDS_MS if b < ms)] += 1
        rows[(tenant.id.hex, "api", int(at.timestamp()) // 60)] = [
            60,
            int(failing and h % 13 == 0),
            0.0,
            *buckets,
        ]
    write_rows(rows)
    for h in range(hours, -1, -1):
        sla_rollup(now=now - timedelta(hours=h))


def test_operator_sees_breaches_first_and_a_tenant_latency_chart(site, page, shot, committed_db):
    slow = TenantFactory(subdomain=unique_subdomain("slowco"))
    fine = TenantFactory(subdomain=unique_subdomain("fineco"))
    _history(slow, typical_ms=350, hours=40, seed=1, failing=True)
    _history(fine, typical_ms=40, hours=40, seed=2, failing=False)
    now = time.time()
    slow_statements.write_statements(
        [
            (
                slow.pk,
                now - 600,
                1840.0,
                'SELECT "projects_task"."status", COUNT(*) FROM "projects_task" '
                'WHERE "projects_task"."tenant_id" = %s GROUP BY 1',
                "/api/v1/projects/<uuid:project_id>/tasks/",
                "req-7f3c2a",
            ),
            (slow.pk, now - 3000, 612.5, "SELECT pg_sleep(0.6)", "/projects/", "req-51d0e9"),
        ]
    )
    email = f"ops-{slow.subdomain}@tenantry.test"
    operator_create(email=email, password="operator-password-1")

    page.goto(f"http://admin.localhost:{site.port}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("operator-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Service levels").click()
    slow_row = page.get_by_role("row").filter(has_text=slow.subdomain)
    assert "breached: latency" in slow_row.inner_text()
    assert "met" in page.get_by_role("row").filter(has_text=fine.subdomain).inner_text()
    copy_to_docs(shot(page, "fleet"), "sla-fleet.png")

    page.get_by_role("link", name=slow.subdomain).click()
    chart = page.get_by_role("img", name="p95 latency per hour, 48 h")
    expect(chart).to_be_visible()
    assert page.locator("svg polyline.p95").count() == 2
    expect(page.locator("tr.slow-statement").first).to_contain_text("1840 ms")
    expect(page.locator("#slow-statements")).to_contain_text("pg_sleep(?)")
    copy_to_docs(shot(page, "tenant"), "sla-tenant.png")
