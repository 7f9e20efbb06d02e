"""The RLS guarantee is verified in every placement and on every table with a tenant_id column.

The check reads the catalog, not the models; a placement that fails is refused
service (503) by a running server and recorded as failed by migrate_tenants;
unsafe pooled tables stop the server from starting.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connections

from tenants.backends import backend_for
from tenants.checks import check_tenant_tables
from tenants.guards import UNSAFE_STATE
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.live import LiveServer, http

pytestmark = pytest.mark.isolation


def owner_sql(*statements):
    with connections["owner"].cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def placement_sql(tenant, *statements):
    """Run statements as the owner inside the tenant's own schema or database."""
    with backend_for(tenant).placement(tenant).connect(autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@contextmanager
def rls_disabled(tenant, table="projects_project"):
    placement_sql(tenant, f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    try:
        yield
    finally:
        placement_sql(tenant, f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


def found(errors):
    return {(e.id, e.msg.split(" ")[0]) for e in errors}


def test_rls_disabled_inside_a_tenant_database_fails_the_check(committed_db):
    tenant = make_tenant("database", "chk-db")
    where = f"{backend_for(tenant).database_name(tenant)}:public.projects_project"
    assert ("tenants.E001", where) not in found(check_tenant_tables(databases=["default"]))
    with rls_disabled(tenant):
        assert ("tenants.E001", where) in found(check_tenant_tables(databases=["default"]))
        with pytest.raises(SystemCheckError, match="projects_project"):
            call_command("check", databases=["default"])
    assert ("tenants.E001", where) not in found(check_tenant_tables(databases=["default"]))


def test_rls_disabled_inside_a_tenant_schema_fails_the_check(committed_db):
    tenant = make_tenant("schema", "chk-sc")
    where = f"{tenant.schema_name}.projects_task"
    placement_sql(tenant, "ALTER TABLE projects_task NO FORCE ROW LEVEL SECURITY")
    try:
        assert ("tenants.E002", where) in found(check_tenant_tables())
    finally:
        placement_sql(tenant, "ALTER TABLE projects_task FORCE ROW LEVEL SECURITY")
    assert ("tenants.E002", where) not in found(check_tenant_tables())


def test_an_unregistered_table_with_a_tenant_id_fails_the_check(committed_db):
    owner_sql("CREATE TABLE public.guards_probe (id int PRIMARY KEY, tenant_id uuid NOT NULL)")
    try:
        errors = found(check_tenant_tables())
        for code in ("tenants.E001", "tenants.E002", "tenants.E003"):
            assert (code, "public.guards_probe") in errors
        with pytest.raises(SystemCheckError, match="guards_probe"):
            call_command("check")
    finally:
        owner_sql("DROP TABLE public.guards_probe")


def test_a_permissive_policy_beside_ours_fails_the_check(committed_db):
    owner_sql("CREATE POLICY wide_open ON projects_project USING (true)")
    try:
        assert ("tenants.E007", "public.projects_project") in found(check_tenant_tables())
    finally:
        owner_sql("DROP POLICY wide_open ON projects_project")


def test_migrate_tenants_fails_and_refuses_an_unsafe_placement(committed_db):
    tenant = make_tenant("schema", "chk-mt")
    with rls_disabled(tenant, "audit_auditevent"):
        with pytest.raises(CommandError, match="not migrated"):
            call_command("migrate_tenants", "--skip-pooled", "--json", stdout=_Sink())
        row = Tenant.objects.get(pk=tenant.pk)
        assert row.migration_state == UNSAFE_STATE
        assert "audit_auditevent does not ENABLE ROW LEVEL SECURITY" in row.migration_error
    # Sound again: the next run restores service.
    out = _Sink()
    call_command("migrate_tenants", "--skip-pooled", "--json", stdout=out)
    mine = [o for o in json.loads(out.text) if o["subdomain"] == tenant.subdomain]
    assert mine == [{**mine[0], "status": "ok"}]
    assert Tenant.objects.get(pk=tenant.pk).migration_state != UNSAFE_STATE


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def _get(server, tenant):
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    status, _, body = http("GET", server.url + "/accounts/login/", host)
    return status, body


@pytest.mark.slow
def test_a_running_server_refuses_placements_that_fail_the_check(committed_db, test_database_url):
    healthy = make_tenant("schema", "chk-ok")
    schema = make_tenant("schema", "chk-ls")
    database = make_tenant("database", "chk-ld")
    with (
        rls_disabled(schema),
        rls_disabled(database, "accounts_user"),
        LiveServer(test_database_url) as server,
    ):
        assert _get(server, healthy)[0] == 200
        for tenant in (schema, database):
            status, body = _get(server, tenant)
            assert status == 503, (tenant.isolation, status, body[:300])
            assert b"tenant_upgrading" in body
    call_command("migrate_tenants", "--skip-pooled", stdout=_Sink())  # repaired: served again
    with LiveServer(test_database_url) as server:
        assert [_get(server, t)[0] for t in (schema, database)] == [200, 200]


@pytest.mark.slow
def test_unsafe_pooled_tables_stop_the_server_from_starting(committed_db, test_database_url):
    owner_sql("CREATE TABLE public.guards_probe (id int PRIMARY KEY, tenant_id uuid NOT NULL)")
    try:
        with pytest.raises(RuntimeError, match="guards_probe"), LiveServer(test_database_url):
            pass
    finally:
        owner_sql("DROP TABLE public.guards_probe")


def test_rls_disabled_in_a_template_database_fails_the_check(committed_db):
    """Tenant databases are copies of each server's template: it is checked like them."""
    from tenants.backends.database import _server_placement, template_name
    from tenants.guards import scan

    make_tenant("database", "chk-tm")  # the main server's template database exists
    template = _server_placement(settings.DATABASE_URL, template_name())
    with template.connect(autocommit=True) as conn:
        conn.execute("ALTER TABLE projects_project DISABLE ROW LEVEL SECURITY")
    try:
        where = f"{template_name()}:public.projects_project"
        assert ("tenants.E001", where) in {(f.id, f.where) for f in scan().templates}
    finally:
        with template.connect(autocommit=True) as conn:
            conn.execute("ALTER TABLE projects_project ENABLE ROW LEVEL SECURITY")


@pytest.mark.slow
def test_uvicorn_with_several_workers_starts_and_runs_the_check(committed_db, test_database_url):
    """The runbook's ASGI command (`uvicorn … --workers 3`): each worker imports saas.asgi
    inside its running event loop, where Django refuses database calls. Before the fix every
    worker died at start (SynchronousOnlyOperation in the check) and nothing was served."""
    healthy = make_tenant("schema", "uv-ok")
    unsafe = make_tenant("schema", "uv-ls")
    with rls_disabled(unsafe), LiveServer(test_database_url, server="asgi", workers=2) as server:
        assert _get(server, healthy)[0] == 200
        status, body = _get(server, unsafe)
        assert status == 503 and b"tenant_upgrading" in body  # the check ran
    assert "SynchronousOnlyOperation" not in server.log.read_text()
    call_command("migrate_tenants", "--skip-pooled", stdout=_Sink())  # repaired for later tests
