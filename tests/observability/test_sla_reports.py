"""Objectives per plan, the operator's SLA pages and CSV, the breach flagging, the tenant panel."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.models import Role
from audit.models import AuditEvent
from billing.models import Plan
from observability.models import LATENCY_BOUNDS_MS
from observability.recorder import write_rows
from observability.rollups import sla_rollup
from operators.services import operator_create, sla_breaches_flag
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.factories.accounts import PASSWORD

N = len(LATENCY_BOUNDS_MS) + 1
CONSOLE = f"admin.{settings.BASE_DOMAIN}"


def _hist(ms: int, count: int) -> list[int]:
    """`count` requests just under `ms` (the bucket whose upper bound is `ms`)."""
    buckets = [0] * N
    buckets[LATENCY_BOUNDS_MS.index(ms)] = count
    return buckets


def _traffic(tenant, *, ms: int, count: int, errors: int = 0, at=None) -> None:
    now = datetime.now(UTC)
    # Two minutes ago, but never before today: the reports judge the day and the month so far.
    at = at or max(now - timedelta(minutes=2), now.replace(hour=0, minute=0, second=0))
    minute = int(at.timestamp()) // 60
    write_rows(
        {(tenant.id.hex, "api", minute): [count, errors, float(ms * count), *_hist(ms, count)]}
    )


@pytest.fixture
def plans(committed_db):
    return {p.code: p for p in Plan.objects.all()}


@pytest.fixture
def operator(committed_db):
    return operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )


def _console(operator) -> Client:
    client = Client(HTTP_HOST=CONSOLE)
    response = client.post("/login/", {"email": operator.email, "password": "operator-password-1"})
    assert response.status_code == 302
    return client


def test_plans_state_their_objectives(plans):
    assert (plans["free"].sla_p95_ms, str(plans["free"].sla_availability_pct)) == (1000, "99.000")
    assert plans["enterprise"].sla_p95_ms < plans["pro"].sla_p95_ms < plans["free"].sla_p95_ms


def test_fleet_view_lists_breaching_tenants_first_worst_p95_first(plans, operator):
    slow = TenantFactory(subdomain=unique_subdomain("slow"), plan=plans["pro"])  # p95 ≤ 500
    slower = TenantFactory(subdomain=unique_subdomain("slower"), plan=plans["free"])  # ≤ 1000
    fine = TenantFactory(subdomain=unique_subdomain("fine"), plan=plans["free"])
    _traffic(slow, ms=1000, count=50)  # p95 ≈ 975 ms > 500: breached
    _traffic(slower, ms=2500, count=50)  # p95 ≈ 2425 ms > 1000: breached, worse
    _traffic(fine, ms=100, count=50)
    sla_rollup()
    page = _console(operator).get("/sla/")
    assert page.status_code == 200
    html = page.content.decode()
    positions = [html.index(t.subdomain) for t in (slower, slow, fine)]
    assert positions == sorted(positions), "breaching first, worst p95 first"
    assert html.count("breached: latency") >= 2


def test_tenant_sla_page_has_an_inline_svg_chart_and_a_csv_report(plans, operator):
    tenant = TenantFactory(subdomain=unique_subdomain("chart"), plan=plans["pro"])
    _traffic(tenant, ms=250, count=40, errors=2)
    sla_rollup()
    client = _console(operator)
    page = client.get(f"/tenants/{tenant.pk}/sla/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'class="p95"' in html and 'class="objective"' in html
    # The chart is markup only: no script in it, nothing loaded from elsewhere.
    svg = html[html.index("<svg") : html.rindex("</svg>")]
    assert "<script" not in svg and 'src="http' not in html
    month = datetime.now(UTC).strftime("%Y-%m")
    report = client.get(f"/tenants/{tenant.pk}/sla.csv?month={month}")
    assert report.status_code == 200 and report["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    header = rows.index(
        ["day", "requests", "errors", "availability_pct", "p50_ms", "p95_ms", "p99_ms"]
    )
    (day,) = rows[header + 1 :]
    assert day[1:4] == ["40", "2", "95.0"]
    # The console is for operators only.
    assert Client(HTTP_HOST=CONSOLE).get(f"/tenants/{tenant.pk}/sla.csv").status_code == 302


def test_breaches_are_flagged_once_with_an_audit_entry_and_an_operator_email(plans, operator):
    tenant = TenantFactory(subdomain=unique_subdomain("breach"), plan=plans["enterprise"])
    quiet = TenantFactory(subdomain=unique_subdomain("quiet"), plan=plans["enterprise"])
    _traffic(tenant, ms=1000, count=30, errors=3)  # p95 > 300 ms and 90 % < 99.9 %
    _traffic(quiet, ms=50, count=30)
    sla_rollup()
    mail.outbox.clear()
    flagged = [f for f in sla_breaches_flag() if f["tenant"] in (tenant.subdomain, quiet.subdomain)]
    assert sorted(f["objective"] for f in flagged) == ["availability", "latency"]
    assert {f["tenant"] for f in flagged} == {tenant.subdomain}
    with tenant_scope(tenant):
        events = list(AuditEvent.objects.filter(tenant_id=tenant.pk, action="sla.breached"))
    assert len(events) == 2
    with tenant_scope(quiet):
        assert not AuditEvent.objects.filter(tenant_id=quiet.pk, action="sla.breached").exists()
    assert any(tenant.subdomain in m.body and operator.email in m.to for m in mail.outbox)
    # A re-run flags nothing new for this month.
    again = [f for f in sla_breaches_flag() if f["tenant"] == tenant.subdomain]
    assert again == []


def test_tenant_admin_sees_its_service_this_month_and_only_its_own(plans):
    tenant = TenantFactory(subdomain=unique_subdomain("mine"), plan=plans["pro"])
    other = TenantFactory(subdomain=unique_subdomain("other"), plan=plans["pro"])
    _traffic(tenant, ms=100, count=25)
    _traffic(other, ms=5000, count=999)
    sla_rollup()
    owner = UserFactory(tenant=tenant, role=Role.OWNER)
    client = Client(HTTP_HOST=f"{tenant.subdomain}.{settings.BASE_DOMAIN}")
    assert (
        client.post("/accounts/login/", {"email": owner.email, "password": PASSWORD}).status_code
        == 302
    )
    html = client.get("/billing/").content.decode()
    assert "Service this month" in html
    assert "<dt>Requests</dt><dd>25</dd>" in html
    assert "objective ≤ 500 ms" in html and "p95 latency ≤ 500 ms" in html
    assert "999" not in html
