"""Operator actions reach the tenant's audit log under an operator identity, and operator-only
fields (the suspension reason) stay with the operators. Console over HTTP, commands as processes."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import uuid

import pytest

from audit.models import AuditEvent
from operators.services import operator_create
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import ROOT, LiveServer
from tests.live_client import Browser, api, console_host, tenant_host

pytestmark = pytest.mark.slow

CONSOLE_REASON = "Chargeback fraud case 8841"
COMMAND_REASON = "Internal note: legal hold"


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_tenants_audit_log_names_the_operator_and_not_the_reason(
    committed_db, test_database_url
):
    tenant = TenantFactory(subdomain=unique_subdomain("audited"))
    owner = UserFactory(tenant=tenant, email="owner@audited.test", role="owner")
    operator = operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )
    os_user = getpass.getuser()

    # Commands: the OS user, or whom --actor names.
    manage(test_database_url, "suspend_tenant", tenant.subdomain, "--reason", COMMAND_REASON)
    manage(
        test_database_url, "reactivate_tenant", tenant.subdomain, "--actor", "ops-cli@tenantry.test"
    )
    manage(test_database_url, "change_plan", tenant.subdomain, "free")

    with LiveServer(test_database_url) as server:
        console = Browser(server, console_host())
        assert console.login(operator.email, "operator-password-1", path="/login/")[0] == 302
        detail = f"/tenants/{tenant.pk}/"
        status, _ = console.post_form(f"{detail}suspend/", {"reason": CONSOLE_REASON}, page=detail)
        assert status == 302
        status, page = console.request("GET", detail)
        assert CONSOLE_REASON.encode() in page  # operators still see it
        assert console.post_form(f"{detail}reactivate/", {}, page=detail)[0] == 302
        assert console.post_form(f"{detail}plan/", {"plan": "pro"}, page=detail)[0] == 302

        browser = Browser(server, tenant_host(tenant))
        assert browser.login(owner.email)[0] == 302
        status, page = browser.request("GET", "/audit/")
    assert status == 200
    text = page.decode()
    assert CONSOLE_REASON not in text and COMMAND_REASON not in text
    assert f"operator {operator.email}" in text
    assert "operator ops-cli@tenantry.test" in text
    assert f"operator {os_user}" in text

    with tenant_scope(tenant):
        events = {
            (e.action, e.actor_label): e.data
            for e in AuditEvent.objects.filter(tenant_id=tenant.pk)
        }
    assert CONSOLE_REASON not in str(events) and COMMAND_REASON not in str(events)
    operator_actions = {
        "tenant.suspend": {f"operator {os_user}", f"operator {operator.email}"},
        "tenant.reactivate": {"operator ops-cli@tenantry.test", f"operator {operator.email}"},
        "plan.change": {f"operator {os_user}", f"operator {operator.email}"},
    }
    for action, labels in operator_actions.items():
        assert {label for (a, label) in events if a == action} == labels, events


PAYMENT_REFERENCE = "pi_3Operator0nlyRef"


def test_an_invoices_payment_reference_stays_with_the_operators(
    committed_db, test_database_url, tmp_path
):
    """settle_invoice --paid REF: the tenant's audit log (page, CSV, API) and its customer
    export say the invoice was paid, never the provider's reference (operator-only)."""
    from accounts.services import token_create
    from billing.subscriptions import subscription_start
    from tests.billing.conftest import plan

    tenant = TenantFactory(subdomain=unique_subdomain("paid"), plan=plan("pro"))
    owner = UserFactory(tenant=tenant, email="owner@paid.test", role="owner")
    subscription_start(tenant=tenant)
    with tenant_scope(tenant):
        secret = token_create(
            tenant=tenant, created_by=owner, name="ci", scopes=["read", "admin"]
        ).secret
    manage(test_database_url, "issue_invoice", tenant.subdomain, "--tax-rate", "0.19")
    listed = manage(test_database_url, "list_invoices", tenant.subdomain, "--json")
    [invoice] = json.loads(listed.stdout)
    manage(
        test_database_url,
        "settle_invoice",
        tenant.subdomain,
        invoice["number"],
        "--paid",
        PAYMENT_REFERENCE,
    )
    export = tmp_path / "customer.jsonl"
    manage(test_database_url, "export_tenant", tenant.subdomain, "--output", str(export))

    with LiveServer(test_database_url) as server:
        browser = Browser(server, tenant_host(tenant))
        assert browser.login(owner.email)[0] == 302
        pages = [browser.request("GET", path) for path in ("/audit/", "/audit/export.csv")]
        status, body = api(server, tenant_host(tenant), secret, "GET", "/api/v1/audit/")
    assert status == 200 and "invoice.paid" in json.dumps(body)
    for page_status, page in pages:
        assert page_status == 200 and b"invoice.paid" in page
        assert PAYMENT_REFERENCE.encode() not in page
    assert PAYMENT_REFERENCE not in json.dumps(body)
    assert "invoice.paid" in export.read_text()
    assert PAYMENT_REFERENCE not in export.read_text()
    with tenant_scope(tenant):  # operators still have it, on the invoice
        from billing.models import Invoice

        paid = Invoice.objects.get(number=invoice["number"])
        assert paid.external_payment_reference == PAYMENT_REFERENCE
