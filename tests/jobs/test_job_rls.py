"""Job rows are under RLS: another tenant cannot see or touch them, even in raw SQL as the app role."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from jobs.models import Job
from tenants.context import tenant_scope

pytestmark = pytest.mark.isolation


INSERT = (
    "INSERT INTO jobs_job (id, kind, tenant_id, status, progress, message, params, result,"
    " requested_by, attempts, created_at) VALUES (gen_random_uuid(), 'tenant_export', %s,"
    " 'queued', 0, '', '{}', '{}', '', 0, now())"
)


def _sql(tenant, statement, params):
    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchone()[0] if cur.description else cur.rowcount


def test_a_tenants_jobs_are_invisible_to_another_tenant_in_sql(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        job = Job.objects.create(kind="tenant_export", tenant_id=tenant_a.pk, result={"file": "a"})
    count = "SELECT count(*) FROM jobs_job WHERE id = %s"
    assert _sql(tenant_a, count, [job.pk]) == 1
    assert _sql(tenant_b, count, [job.pk]) == 0
    assert _sql(None, count, [job.pk]) == 0  # no tenant: nothing either
    # Writes by B cannot reach A's row, nor create rows in A's name.
    assert _sql(tenant_b, "UPDATE jobs_job SET result = '{}' WHERE id = %s", [job.pk]) == 0
    assert _sql(tenant_b, "DELETE FROM jobs_job WHERE id = %s", [job.pk]) == 0
    with (
        pytest.raises((ProgrammingError, IntegrityError), match="row-level security"),
        transaction.atomic(),
    ):
        _sql(tenant_b, INSERT, [tenant_a.pk])
    assert _sql(tenant_a, "SELECT result->>'file' FROM jobs_job WHERE id = %s", [job.pk]) == "a"


def test_fleet_jobs_without_a_tenant_are_the_operator_roles_only(tenant_a):
    # Even in a tenant's scope, the app role cannot write a row without a tenant.
    with (
        pytest.raises((ProgrammingError, IntegrityError), match="row-level security"),
        transaction.atomic(),
    ):
        _sql(tenant_a, INSERT, [None])
