"""Database placements: fleet migrations, an unreachable tenant database, re-runnable provisioning."""

import contextlib
import io
import json
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, override_settings

from billing.models import Plan
from projects.models import Project
from tenants import resolvers
from tenants.backends import backend_for
from tenants.backends.database import default_server
from tenants.backends.migrate import code_state, full_plan
from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo, split_credentials
from tenants.models import DatabaseServer, Tenant, TenantStatus
from tenants.servers import server_register
from tenants.services import tenant_get
from tests.conftest import make_tenant, unique_subdomain
from tests.factories import ProjectFactory, TenantFactory
from tests.live import free_port

pytestmark = [pytest.mark.slow]


def closed_port_address() -> str:
    return f"postgresql://127.0.0.1:{free_port()}/postgres"


def flaky_server() -> DatabaseServer:
    """A second registry entry for the main server, whose URL a test can break."""
    return server_register(
        name=f"flaky-{uuid.uuid4().hex[:8]}",
        url=settings.DATABASE_URL,
        # A region of its own: the least-loaded rule never picks it for other tests.
        region=f"flaky-{uuid.uuid4().hex[:8]}",
    )


def regress(tenant) -> None:
    """Make the tenant's own placement lag behind the code: the audit app's migrations."""
    with backend_for(tenant).placement(tenant).connect() as conn:
        conn.execute("DROP TABLE audit_auditevent")
        conn.execute("DELETE FROM django_migrations WHERE app = 'audit'")
        conn.commit()


def has_audit_table(tenant) -> bool:
    with backend_for(tenant).placement(tenant).connect(autocommit=True) as conn:
        return conn.execute("SELECT to_regclass('audit_auditevent') IS NOT NULL").fetchone()[0]


def host(tenant):
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


def test_migrate_tenants_survives_an_unreachable_database_and_resumes(committed_db):
    flaky = flaky_server()
    shared = make_tenant("shared", "fleet-sh")
    lagging = [
        make_tenant("schema", "fleet-s1"),
        make_tenant("schema", "fleet-s2"),
        make_tenant("database", "fleet-d1"),
    ]
    down = TenantFactory(
        subdomain=unique_subdomain("fleet-down"), isolation="database", database_server=flaky
    )
    for tenant in [*lagging, down]:
        regress(tenant)
    DatabaseServer.objects.using("operator").filter(pk=flaky.pk).update(
        address=closed_port_address()
    )

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 placement"):
        call_command("migrate_tenants", "--json", "--parallel", "2", stdout=out)
    report = {row["subdomain"]: row for row in json.loads(out.getvalue())}
    assert report[down.subdomain]["status"] == "failed"
    assert "cannot read migration state" in report[down.subdomain]["error"]
    audit_migrations = len([key for key in full_plan() if key[0] == "audit"])
    for tenant in lagging:
        assert report[tenant.subdomain] == {
            "subdomain": tenant.subdomain,
            "isolation": tenant.isolation,
            "applied": audit_migrations,
            "status": "ok",
            "error": "",
        }
        assert has_audit_table(tenant)
        assert tenant_get(tenant.subdomain).migration_state == code_state()
    assert shared.subdomain not in report  # pooled tables are migrated by `migrate`

    # The failed tenant is refused service; the others are served.
    down_now = tenant_get(down.subdomain)
    assert down_now.migration_state != code_state() and down_now.migration_error
    resolvers.clear_local()
    refused = Client().get("/accounts/login/", HTTP_HOST=host(down))
    assert refused.status_code == 503 and b"tenant_upgrading" in refused.content
    assert Client().get("/accounts/login/", HTTP_HOST=host(lagging[0])).status_code == 200

    # Repair the server and re-run: only what is behind is done.
    DatabaseServer.objects.using("operator").filter(pk=flaky.pk).update(
        address=split_credentials(settings.DATABASE_URL)[0]
    )
    out = io.StringIO()
    call_command("migrate_tenants", "--json", stdout=out)
    report = {row["subdomain"]: row for row in json.loads(out.getvalue())}
    assert report[down.subdomain]["applied"] == audit_migrations
    assert all(report[t.subdomain]["applied"] == 0 for t in lagging)
    assert has_audit_table(tenant_get(down.subdomain))
    resolvers.clear_local()
    assert Client().get("/accounts/login/", HTTP_HOST=host(down)).status_code == 200


@override_settings(TENANT_URLCONF="tests.probe_urls")
def test_tenant_database_down_gives_503_and_others_keep_working(committed_db):
    flaky = flaky_server()
    down = TenantFactory(
        subdomain=unique_subdomain("down"), isolation="database", database_server=flaky
    )
    other_db = make_tenant("database", "up-db")
    other_shared = make_tenant("shared", "up-sh")
    for t in (down, other_db, other_shared):
        ProjectFactory(tenant=t, name=f"{t.subdomain}-p")
    client = Client()
    assert client.get("/probe/", HTTP_HOST=host(down)).json()["names"] == [f"{down.subdomain}-p"]

    DatabaseServer.objects.using("operator").filter(pk=flaky.pk).update(
        address=closed_port_address()
    )
    resolvers.invalidate(down.subdomain)
    for _ in range(2):  # the first attempt trips the breaker, the second is refused at once
        response = client.get("/probe/", HTTP_HOST=host(down))
        assert response.status_code == 503
        assert b"tenant_database_unavailable" in response.content
        assert response["Retry-After"] == "5"
        for ok in (other_db, other_shared):
            body = client.get("/probe/", HTTP_HOST=host(ok)).json()
            assert body["names"] == [f"{ok.subdomain}-p"]


def test_provisioning_is_idempotent_and_finishes_a_half_done_job(committed_db):
    tenant = Tenant.objects.using("operator").create(  # the registry: operator role
        name="Half",
        subdomain=unique_subdomain("half"),
        plan=Plan.objects.get(code="pro"),
        isolation="database",
        status=TenantStatus.PROVISIONING,
        database_server=default_server(),
    )
    name = backend_for(tenant).database_name(tenant)
    # A crash after CREATE DATABASE, before grants and migrations:
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    call_command("provision_tenant_database", tenant.subdomain)
    call_command("provision_tenant_database", tenant.subdomain)  # and again: nothing to do
    ready = tenant_get(tenant.subdomain)
    assert (ready.status, ready.database_name, ready.migration_state) == (
        TenantStatus.ACTIVE,
        name,
        code_state(),
    )
    with tenant_scope(ready):
        ProjectFactory(tenant=ready, name="works")
        assert list(Project.objects.values_list("name", flat=True)) == ["works"]


def test_provision_refuses_shared_tenants(committed_db):
    tenant = make_tenant("shared", "nope")
    with pytest.raises(CommandError, match="move_tenant"):
        call_command("provision_tenant_database", tenant.subdomain)


def test_list_tenants_reports_mode_placement_plan_status_and_rows(committed_db):
    tenants = {
        mode: make_tenant(mode, f"ls-{mode[:2]}") for mode in ("shared", "schema", "database")
    }
    for t in tenants.values():
        ProjectFactory(tenant=t)
    out = io.StringIO()
    call_command("list_tenants", "--json", stdout=out)
    rows = {r["subdomain"]: r for r in json.loads(out.getvalue())}
    for mode, t in tenants.items():
        row = rows[t.subdomain]
        assert (row["isolation"], row["plan"], row["status"]) == (mode, "pro", "active")
        assert row["rows"] == 1  # the project
    schema = tenants["schema"]
    assert rows[schema.subdomain]["placement"] == f"schema {schema.schema_name} on main"
    assert rows[tenants["shared"].subdomain]["placement"] == "pooled tables on main"
    assert rows[tenants["database"].subdomain]["placement"].startswith("database ")


def test_each_thread_keeps_a_bounded_number_of_tenant_connections(committed_db, settings):
    from django.db import connections

    from tenants.routers import data_alias

    settings.TENANT_DB_MAX_OPEN = 2
    tenants = [make_tenant("database", f"lru{n}") for n in range(3)]
    for tenant in tenants:
        with tenant_scope(tenant):
            ProjectFactory(tenant=tenant)
    open_aliases = [t.db_alias for t in tenants if connections[t.db_alias].connection is not None]
    assert open_aliases == [t.db_alias for t in tenants[1:]], "the least recently used went back"
    with tenant_scope(tenants[0]):
        assert Project.objects.count() == 1  # reopened on demand
        assert data_alias() == tenants[0].db_alias
    assert connections[tenants[1].db_alias].connection is None


def _pool_aliases(tenants):
    from django.db.backends.postgresql.base import DatabaseWrapper

    return [t.db_alias for t in tenants if t.db_alias in DatabaseWrapper._connection_pools]


def test_each_process_keeps_a_bounded_number_of_tenant_pools(committed_db, settings, monkeypatch):
    """Over TENANT_DB_MAX_POOLS the least recently used idle pool is closed; when every
    pool is in use the request is refused (503 material), never served over the bound."""
    from django.db import connections

    from tenants.backends import database

    monkeypatch.setattr(database, "POOL_EVICT_GRACE", 0.0)
    settings.TENANT_DB_MAX_POOLS = 2
    settings.TENANT_DB_MAX_OPEN = 1  # this thread gives a connection back before taking another
    tenants = [make_tenant("database", f"cap{n}") for n in range(3)]
    for tenant in tenants:
        with tenant_scope(tenant):
            ProjectFactory(tenant=tenant)
    assert _pool_aliases(tenants) == [t.db_alias for t in tenants[1:]], "the LRU pool was closed"
    with tenant_scope(tenants[0]):
        assert Project.objects.count() == 1  # its pool comes back on demand
    assert _pool_aliases(tenants) == [tenants[0].db_alias, tenants[2].db_alias]

    # Both pools busy (connections checked out in open transactions): a third is refused.
    settings.TENANT_DB_MAX_OPEN = 3
    with tenant_scope(tenants[0]), transaction.atomic(using=tenants[0].db_alias):
        assert Project.objects.count() == 1
        with tenant_scope(tenants[2]), transaction.atomic(using=tenants[2].db_alias):
            assert Project.objects.count() == 1
            with tenant_scope(tenants[1]), pytest.raises(database.TenantPoolsBusy):
                Project.objects.count()
    assert len(_pool_aliases(tenants)) == 2
    for tenant in tenants:
        connections[tenant.db_alias].close()


@pytest.mark.parametrize("flags", [[], ["--executor"]], ids=["rendered-once", "executor"])
def test_migrate_tenants_reapplies_a_migration_in_every_own_placement(committed_db, flags):
    """The newest projects migration (an index change + a re-keyed constraint), marked
    unapplied in each own placement, is applied again everywhere and leaves them working."""
    tenants = [
        make_tenant("schema", "re-s1"),
        make_tenant("schema", "re-s2"),
        make_tenant("database", "re-d1"),
    ]
    app, name = [k for k in full_plan() if k[0] == "projects"][-1]
    for tenant in tenants:
        with backend_for(tenant).placement(tenant).connect() as conn:
            conn.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name])
            conn.commit()
    out = io.StringIO()
    # Other tests leave deliberately unreachable tenants behind: judge ours only.
    with contextlib.suppress(CommandError):
        call_command("migrate_tenants", "--json", "--skip-pooled", *flags, stdout=out)
    report = {row["subdomain"]: row for row in json.loads(out.getvalue())}
    for tenant in tenants:
        assert (report[tenant.subdomain]["status"], report[tenant.subdomain]["applied"]) == (
            "ok",
            1,
        )
        with backend_for(tenant).placement(tenant).connect(autocommit=True) as conn:
            keys = {
                r[0]
                for r in conn.execute(
                    "SELECT conname FROM pg_constraint WHERE conrelid = 'projects_project'::regclass"
                )
            }
        assert "projects_project_id_tenant_id_key" in keys
        with tenant_scope(tenant_get(tenant.subdomain)):
            ProjectFactory(tenant=tenant, name="still-works")
            assert Project.objects.filter(name="still-works").count() == 1
