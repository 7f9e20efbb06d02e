"""The tenancy system check fails on any tenant table without RLS, FORCE or policy."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections

from tenants.checks import check_tenant_tables

pytestmark = pytest.mark.isolation


def owner_sql(*statements):
    with connections["owner"].cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def test_migrated_database_passes(committed_db):
    assert check_tenant_tables() == []
    call_command("check")  # raises SystemCheckError on any error


def test_table_created_without_rls_fails_the_check(committed_db):
    owner_sql(
        "CREATE SCHEMA t_checkprobe",
        "CREATE TABLE t_checkprobe.projects_project (id uuid PRIMARY KEY, tenant_id uuid NOT NULL)",
    )
    try:
        errors = check_tenant_tables()
        found = {(e.id, e.msg.split(" ")[0]) for e in errors}
        assert ("tenants.E001", "t_checkprobe.projects_project") in found
        assert ("tenants.E002", "t_checkprobe.projects_project") in found
        assert ("tenants.E003", "t_checkprobe.projects_project") in found
        with pytest.raises(SystemCheckError, match=r"t_checkprobe\.projects_project"):
            call_command("check")
    finally:
        owner_sql("DROP SCHEMA t_checkprobe CASCADE")


def test_removing_force_or_policy_fails_the_check(committed_db):
    owner_sql("ALTER TABLE audit_auditevent NO FORCE ROW LEVEL SECURITY")
    try:
        assert [e.id for e in check_tenant_tables()] == ["tenants.E002"]
    finally:
        owner_sql("ALTER TABLE audit_auditevent FORCE ROW LEVEL SECURITY")
    owner_sql("ALTER POLICY tenant_isolation ON projects_task RENAME TO something_else")
    try:
        assert [e.id for e in check_tenant_tables()] == ["tenants.E003"]
    finally:
        owner_sql("ALTER POLICY something_else ON projects_task RENAME TO tenant_isolation")
    assert check_tenant_tables() == []
