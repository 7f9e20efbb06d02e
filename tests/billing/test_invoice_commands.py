"""The operator door to invoices and cancellation: issue_invoice, list_invoices, settle_invoice,
cancel_subscription."""

import json
import os
import subprocess
import sys
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from billing.models import Invoice, Subscription
from billing.subscriptions import subscription_start
from tenants.context import tenant_scope
from tests.billing.conftest import tenant_on
from tests.live import ROOT


def _json(capsys, *args):
    capsys.readouterr()
    call_command(*args, "--json")
    return json.loads(capsys.readouterr().out)


@pytest.mark.django_db
def test_issue_list_pay_and_void(pro_tenant, capsys):
    subscription_start(tenant=pro_tenant)
    assert _json(capsys, "list_invoices", pro_tenant.subdomain) == []
    call_command("issue_invoice", pro_tenant.subdomain, "--tax-rate", "0.19", "--actor", "ops@x")
    assert "total 58.31 EUR" in capsys.readouterr().out
    [row] = _json(capsys, "list_invoices", pro_tenant.subdomain)
    assert (row["status"], row["total"], row["currency"]) == ("open", "58.31", "EUR")
    assert row["period_start"] and row["issued_at"] and row["paid_at"] is None

    # A re-run never bills the same period twice.
    with pytest.raises(CommandError, match=f"Invoice {row['number']} \\(open\\) already covers"):
        call_command("issue_invoice", pro_tenant.subdomain, "--tax-rate", "0.19")

    call_command("settle_invoice", pro_tenant.subdomain, row["number"], "--paid", "pi_3Nabc")
    assert f"invoice {row['number']} is paid" in capsys.readouterr().out
    with pytest.raises(CommandError, match="only open invoices can be paid"):
        call_command("settle_invoice", pro_tenant.subdomain, row["number"], "--paid", "pi_2")
    with pytest.raises(CommandError, match="cannot be voided"):
        call_command("settle_invoice", pro_tenant.subdomain, row["number"], "--void")
    with pytest.raises(CommandError, match="no invoice '1999-00001'"):
        call_command("settle_invoice", pro_tenant.subdomain, "1999-00001", "--void")
    with tenant_scope(pro_tenant):
        # The reference is the operators' (on the invoice), not the tenant's audit log.
        assert AuditEvent.objects.get(action="invoice.paid").data == {"number": row["number"]}
        assert Invoice.objects.get(number=row["number"]).external_payment_reference == "pi_3Nabc"


@pytest.mark.django_db
def test_a_voided_invoice_can_be_issued_again(pro_tenant, capsys):
    subscription_start(tenant=pro_tenant)
    call_command("issue_invoice", pro_tenant.subdomain, "--tax-rate", "0")
    [first] = _json(capsys, "list_invoices", pro_tenant.subdomain)
    call_command("settle_invoice", pro_tenant.subdomain, first["number"], "--void")
    call_command("issue_invoice", pro_tenant.subdomain, "--tax-rate", "0")
    rows = _json(capsys, "list_invoices", pro_tenant.subdomain)
    assert [r["status"] for r in rows] == ["open", "void"]
    assert D(rows[0]["total"]) == D("49")


@pytest.mark.django_db
def test_commands_refuse_in_one_line(capsys):
    for args in (
        ("list_invoices", "nope-nope"),
        ("issue_invoice", "nope-nope", "--tax-rate", "0.1"),
        ("settle_invoice", "nope-nope", "2026-00001", "--void"),
        ("cancel_subscription", "nope-nope"),
    ):
        with pytest.raises(CommandError, match="No tenant with subdomain 'nope-nope'"):
            call_command(*args)
    tenant = tenant_on("pro", "inv")
    with pytest.raises(CommandError, match=r"not float|tax rate"):
        call_command("issue_invoice", tenant.subdomain, "--tax-rate", "lots")


@pytest.mark.django_db
def test_cancel_subscription(pro_tenant, capsys):
    subscription_start(tenant=pro_tenant)
    call_command("cancel_subscription", pro_tenant.subdomain)
    assert "subscription canceled" in capsys.readouterr().out
    with tenant_scope(pro_tenant):
        assert Subscription.objects.get().status == "canceled"
        assert AuditEvent.objects.filter(action="subscription.cancel").count() == 1
    with pytest.raises(CommandError, match="already canceled"):
        call_command("cancel_subscription", pro_tenant.subdomain)


@pytest.mark.slow
def test_issue_invoice_in_its_own_process(committed_db, test_database_url):
    tenant = tenant_on("pro", "inv-cmd")
    subscription_start(tenant=tenant)
    env = dict(
        os.environ, DATABASE_URL=test_database_url, DJANGO_SETTINGS_MODULE="saas.settings.test"
    )

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    issued = manage("issue_invoice", tenant.subdomain, "--tax-rate", "0.19")
    assert issued.returncode == 0, issued.stderr
    again = manage("issue_invoice", tenant.subdomain, "--tax-rate", "0.19")
    assert again.returncode == 1
    assert again.stderr.strip().endswith("void it first to issue another.")
    assert "Traceback" not in again.stderr
    listed = manage("list_invoices", tenant.subdomain)
    assert listed.returncode == 0 and "58.31 EUR" in listed.stdout, listed.stderr
