"""The migration that removes suspension reasons from tenants' audit logs (rows written before
the reason became operator-only) reaches rows under FORCE ROW LEVEL SECURITY and restores it."""

from __future__ import annotations

import importlib

from django.db import connections, transaction

from audit.models import AuditEvent
from audit.services import audit_record
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory

SCRUB = importlib.import_module("audit.migrations.0003_scrub_operator_reasons").SCRUB


def test_legacy_reasons_are_scrubbed_and_rls_stays_forced(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("scrub"))
    with tenant_scope(tenant):
        legacy = audit_record(
            tenant=tenant, actor="operator", action="tenant.suspend", data={"reason": "fraud"}
        )
        other = audit_record(
            tenant=tenant, actor="x", action="subscription.past_due", data={"reason": "trial"}
        )
    owner = connections["owner"]
    with transaction.atomic(using="owner"), owner.cursor() as cur:
        for statement in SCRUB:
            cur.execute(statement)
    with owner.cursor() as cur:
        cur.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'audit_auditevent'::regclass"
        )
        assert cur.fetchone()[0] is True
    with tenant_scope(tenant):
        assert AuditEvent.objects.get(pk=legacy.pk).data == {}
        assert AuditEvent.objects.get(pk=other.pk).data == {"reason": "trial"}  # not operator data


def test_legacy_payment_references_are_scrubbed(committed_db):
    scrub = importlib.import_module("audit.migrations.0004_scrub_payment_references").SCRUB
    tenant = TenantFactory(subdomain=unique_subdomain("scrubref"))
    with tenant_scope(tenant):
        legacy = audit_record(
            tenant=tenant, actor="operator", action="invoice.paid", data={"reference": "pi_1"}
        )
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cur:
        for statement in scrub:
            cur.execute(statement)
    with tenant_scope(tenant):
        assert AuditEvent.objects.get(pk=legacy.pk).data == {}
